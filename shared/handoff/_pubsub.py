"""Handoff to Google Cloud Pub/Sub.

Publishing goes through the client's underlying `api.publish` RPC, not the batching
`PublisherClient.publish`: the batcher keeps retrying a message in the background after the
caller gave up, so a request answered 503 could still publish, and the provider's retry
would then publish again. One synchronous RPC with the request's remaining deadline either
is acknowledged before we answer 2xx, or is cancelled with the call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._clients import backend_errors
from .._deadline import remaining
from .._errors import BackendUnavailable, NotConfigured
from ._publisher import Publisher

SCHEDULING_REFUSED = (
    "Pub/Sub cannot hold a message until a later time; hand this target to Cloud Tasks "
    "(RUNRUN_QUEUE=tasks or RUNRUN_TARGET_QUEUES) or the local queue"
)


class PubSubPublisher(Publisher):
    def __init__(
        self,
        client: Callable[[], Any],
        project: Callable[[], str | None],
        *,
        create_topics: bool = False,
    ) -> None:
        self._client, self._project = client, project
        # On the emulator a missing topic is created (in production, deploy creates it).
        self._create_topics = create_topics
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def _topic_path(self, topic: str) -> str:
        project = self._project()
        if not project:
            raise BackendUnavailable("GOOGLE_CLOUD_PROJECT is not set", retry_after=5)
        return f"projects/{project}/topics/{topic}"

    def _ensure_topic(self, client: Any, path: str) -> None:
        if path in self._ready or not self._create_topics:
            return
        from google.api_core.exceptions import AlreadyExists

        with self._lock:
            if path in self._ready:
                return
            try:
                client.api.create_topic(name=path, retry=None, timeout=remaining())
            except AlreadyExists:
                pass
            self._ready.add(path)

    def warm(self, topic: str) -> None:
        """Open the channel: GetTopic, after creating the topic on the emulator."""
        from google.api_core.exceptions import NotFound

        try:
            client = self._client()
            path = self._topic_path(topic)
            self._ensure_topic(client, path)
            client.api.get_topic(topic=path, retry=None, timeout=remaining())
        except NotFound:
            pass  # the channel is open; publishing will say what is missing
        except backend_errors() as exc:
            raise BackendUnavailable(
                f"queue not reachable: {type(exc).__name__}", retry_after=1
            ) from exc

    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str],
        *,
        not_before: float | None = None,
    ) -> str:
        from google.pubsub_v1 import PubsubMessage

        if not_before is not None:
            # Pub/Sub delivers at once: start-up refuses delayed processors on it, and a
            # follow-up asked for at run time is refused here, before anything is sent.
            raise NotConfigured(SCHEDULING_REFUSED)

        try:
            client = self._client()
            path = self._topic_path(topic)
            self._ensure_topic(client, path)
            response = client.api.publish(
                topic=path,
                messages=[PubsubMessage(data=data, attributes=attributes)],
                retry=None,
                timeout=remaining(),
            )
        except backend_errors() as exc:
            raise BackendUnavailable(
                f"queue failed to publish: {type(exc).__name__}", retry_after=1
            ) from exc
        return str(response.message_ids[0])
