"""Notify: a push notification through Firebase Cloud Messaging for each delivery that the
routing table (RUNRUN_NOTIFY_ROUTES or RUNRUN_NOTIFY_ROUTES_FILE) routes; switched off while
no table is set."""

from shared import Delivery, Runtime, Settings
from shared.processors.notify import route_for, send_notification

from . import registry


def _configured(settings: Settings) -> bool:
    return bool(settings.notify_routes)


@registry.register(name="notify", enabled=_configured)
def notify(delivery: Delivery, runtime: Runtime) -> None:
    route = route_for(runtime.settings.notify_routes, delivery.source, delivery.event_type)
    if route is not None:
        send_notification(route, delivery, runtime)
