"""Send one delivery's push notification through FCM with the official firebase-admin SDK.

Outcomes, as the queue needs them:
- sent (or the route needs nothing for this delivery): return;
- UNAVAILABLE, INTERNAL, QUOTA_EXCEEDED, a timeout or any other transient error: raise it,
  the processor's claim is released and the queue redelivers later;
- INVALID_ARGUMENT (or a payload the route cannot render, or a message the SDK refuses to
  encode): PermanentFailure, logged and never retried, so one bad message is no retry storm;
- UNREGISTERED app instances (fids): reported in the log and dropped, the others still count.

FCM's send method takes a message and `validate_only`, nothing else: it has no idempotency
key (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send). So
"exactly once" rests on the processor's claim, and a send that FCM accepted but whose
completion was never recorded (a crash, a kill, the store down at that instant) is sent
again after its lease. What keeps that second send from being seen twice is on the device:
- a notification carries one collapse identifier per delivery, so the second replaces the
  first where it is still shown instead of adding another: Android's `tag` ("if a
  notification with the same tag is already being shown, the new notification replaces the
  existing one", FCM v1 `AndroidNotification`), APNs' `apns-collapse-id` header ("multiple
  notifications with the same collapse identifier are displayed to the user as a single
  notification", at most 64 bytes) and the web's notification `tag`;
- every message carries `runrun_delivery_id` in its data: an app that acts on messages
  (data messages, a notification opened twice) drops one whose id it has seen.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from shared._delivery import Delivery
from shared._errors import PermanentFailure
from shared.processing import ProcessorContext
from shared.processors.notify._routes import MissingField, NotifyRoute
from shared.processors.notify._settings import NotifySettings

if TYPE_CHECKING:
    from firebase_admin import App

log = logging.getLogger("runrun.notify")


def make_firebase_app(settings: NotifySettings) -> App:
    """The processor's own Firebase app (its client: built on first use)."""
    # firebase-admin is heavy to import: only a process with a routing table pays for it.
    import firebase_admin

    options: dict[str, Any] = {"httpTimeout": settings.timeout_seconds}
    if settings.project:
        options["projectId"] = settings.project
    # A name of its own, so that a user's default Firebase app (and another runtime's app in
    # the same process) is left alone. Credentials are Application Default Credentials: the
    # runtime's service account on Cloud Run, or the file GOOGLE_APPLICATION_CREDENTIALS names.
    name = f"runrun-notify-{uuid.uuid4().hex[:12]}"
    return firebase_admin.initialize_app(options=options, name=name)


def delete_firebase_app(app: App) -> None:
    import firebase_admin

    firebase_admin.delete_app(app)


def build_messages(route: NotifyRoute, delivery: Delivery) -> list[Any]:
    """The FCM messages for this delivery (one per fid for a list of fids)."""
    from firebase_admin import messaging

    payload = delivery.json()
    try:
        title = route.title.render(payload) if route.title else None
        body = route.body.render(payload) if route.body else None
        data = {name: template.render(payload) for name, template in route.data}
        destinations = route.to.render_many(payload)
    except MissingField as exc:
        raise PermanentFailure(f"notify route {route.target} {route.event}: {exc}") from None
    # Delivered to the app too: FCM cannot dedupe, an app can.
    data["runrun_delivery_id"] = delivery.delivery_id
    shown: dict[str, Any] = {}
    if title or body:
        collapse = collapse_id(delivery.delivery_id)
        shown = {
            "notification": messaging.Notification(title=title, body=body),
            "android": messaging.AndroidConfig(
                notification=messaging.AndroidNotification(tag=collapse)
            ),
            "apns": messaging.APNSConfig(headers={"apns-collapse-id": collapse}),
            "webpush": messaging.WebpushConfig(
                notification=messaging.WebpushNotification(tag=collapse)
            ),
        }
    return [messaging.Message(data=data, **shown, **{route.destination: to}) for to in destinations]


def collapse_id(delivery_id: str) -> str:
    """One delivery's collapse identifier: its id, or a digest of a longer one (APNs takes
    64 bytes at most)."""
    if len(delivery_id.encode()) <= 64:
        return delivery_id
    return hashlib.sha256(delivery_id.encode()).hexdigest()


def _permanent(exc: Exception) -> bool:
    from firebase_admin import exceptions, messaging

    return isinstance(
        exc,
        exceptions.InvalidArgumentError
        | messaging.SenderIdMismatchError
        | messaging.ThirdPartyAuthError,
    )


def send_notification(
    route: NotifyRoute, delivery: Delivery, context: ProcessorContext[NotifySettings, App]
) -> None:
    """Send the route's message(s) for `delivery` with the processor's Firebase app; see the
    module docstring for outcomes."""
    from firebase_admin import messaging

    messages = build_messages(route, delivery)
    app = context.client
    dry_run = context.settings.dry_run
    try:
        if len(messages) == 1:
            responses = [_single(messaging.send, messages[0], dry_run, app)]
        else:
            responses = [r.exception for r in messaging.send_each(messages, dry_run, app).responses]
    except ValueError as exc:  # the SDK's own checks: a rendered topic FCM would refuse
        raise PermanentFailure(f"FCM refused the message: {exc}") from None
    errors = [exc for exc in responses if exc is not None]
    unregistered = [e for e in errors if isinstance(e, messaging.UnregisteredError)]
    if unregistered:
        log.warning("dropped unregistered FCM app instances", extra={"count": len(unregistered)})
    retry = [e for e in errors if not isinstance(e, messaging.UnregisteredError)]
    transient = [e for e in retry if not _permanent(e)]
    if transient:
        # With several fids, the ones FCM accepted are sent again on redelivery (FCM has
        # no idempotency key); one message per delivery (topic, condition) has no such issue.
        raise transient[0]
    if retry:
        raise PermanentFailure(f"FCM refused the message: {retry[0]}")


def _single(send: Any, message: Any, dry_run: bool, app: App) -> Exception | None:
    from firebase_admin import messaging

    try:
        send(message, dry_run, app)
    except Exception as exc:
        if not (isinstance(exc, messaging.UnregisteredError) or _permanent(exc)):
            raise
        failed: Exception = exc
        return failed
    return None
