"""Push notifications through Firebase Cloud Messaging, routed by a table in settings."""

from shared.processors.notify._fcm import build_messages as build_messages
from shared.processors.notify._fcm import delete_firebase_app as delete_firebase_app
from shared.processors.notify._fcm import make_firebase_app as make_firebase_app
from shared.processors.notify._fcm import send_notification as send_notification
from shared.processors.notify._routes import NotifyRoute as NotifyRoute
from shared.processors.notify._routes import RouteError as RouteError
from shared.processors.notify._routes import parse_routes as parse_routes
from shared.processors.notify._routes import route_for as route_for

__all__ = [
    "NotifyRoute",
    "RouteError",
    "build_messages",
    "delete_firebase_app",
    "make_firebase_app",
    "parse_routes",
    "route_for",
    "send_notification",
]
