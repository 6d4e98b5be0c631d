"""Notify: a push notification through Firebase Cloud Messaging for each delivery that the
routing table (RUNRUN_NOTIFY_ROUTES or RUNRUN_NOTIFY_ROUTES_FILE) routes; switched off while
no table is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared._delivery import Delivery
from shared.processing import ProcessorContext, Registration
from shared.processors.notify._fcm import build_messages as build_messages
from shared.processors.notify._fcm import delete_firebase_app as delete_firebase_app
from shared.processors.notify._fcm import make_firebase_app as make_firebase_app
from shared.processors.notify._fcm import send_notification as send_notification
from shared.processors.notify._routes import NotifyRoute as NotifyRoute
from shared.processors.notify._routes import RouteError as RouteError
from shared.processors.notify._routes import parse_routes as parse_routes
from shared.processors.notify._routes import route_for as route_for
from shared.processors.notify._settings import NotifySettings as NotifySettings

if TYPE_CHECKING:
    from firebase_admin import App


def notify(delivery: Delivery, context: ProcessorContext[NotifySettings, App]) -> None:
    route = route_for(context.settings.routes, delivery.source, delivery.event_type)
    if route is not None:
        send_notification(route, delivery, context)


def _configured(block: NotifySettings) -> bool:
    return bool(block.routes)


PROCESSOR = Registration(
    "notify",
    notify,
    settings=NotifySettings.from_env,
    enabled=_configured,
    client=make_firebase_app,
    close_client=delete_firebase_app,
)

__all__ = [
    "NotifyRoute",
    "NotifySettings",
    "PROCESSOR",
    "RouteError",
    "build_messages",
    "delete_firebase_app",
    "make_firebase_app",
    "notify",
    "parse_routes",
    "route_for",
    "send_notification",
]
