"""Push notifications through Firebase Cloud Messaging, routed by a table in settings."""

from ._fcm import build_messages as build_messages
from ._fcm import firebase_app as firebase_app
from ._fcm import send_notification as send_notification
from ._routes import NotifyRoute as NotifyRoute
from ._routes import RouteError as RouteError
from ._routes import parse_routes as parse_routes
from ._routes import route_for as route_for

__all__ = [
    "NotifyRoute",
    "RouteError",
    "build_messages",
    "firebase_app",
    "parse_routes",
    "route_for",
    "send_notification",
]
