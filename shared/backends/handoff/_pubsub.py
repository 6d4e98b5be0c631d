"""Handoff to Google Cloud Pub/Sub.

Publishing goes through the client's underlying `api.publish` RPC, not the batching
`PublisherClient.publish`: the batcher keeps retrying a message in the background after the
caller gave up, so a request answered 503 could still publish, and the provider's retry
would then publish again. One synchronous RPC with the request's remaining deadline either
is acknowledged before we answer 2xx, or is cancelled with the call.

Concurrent publishes to one topic still share that RPC (shared/backends/_batching.py): the caller
that arrives first sends every message queued so far in one `Publish`, on its own thread,
while the next batch gathers. Each caller gets its own message id back before it answers;
a failed RPC fails exactly the callers whose messages it carried, and nothing is retried.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from shared._deadline import remaining
from shared._errors import BackendUnavailable, NotConfigured
from shared.backends._batching import Batcher, Followup
from shared.backends._clients import backend_errors
from shared.backends.handoff._publisher import Publisher

SCHEDULING_REFUSED = (
    "Pub/Sub cannot hold a message until a later time; hand this target to Cloud Tasks "
    "(RUNRUN_QUEUE=tasks or RUNRUN_TARGET_QUEUES) or the local queue"
)
# Pub/Sub's limits per Publish request are 1,000 messages and 10 MB; keep below both.
_MAX_MESSAGES = 1000
_MAX_BYTES = 9_000_000


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
        self._batchers: dict[str, Batcher[Any, str]] = {}  # one per topic path

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
        from google.api_core.exceptions import NotFound, PermissionDenied

        try:
            client = self._client()
            path = self._topic_path(topic)
            self._ensure_topic(client, path)
            client.api.get_topic(topic=path, retry=None, timeout=remaining())
        except NotFound:
            pass  # the channel is open; publishing will say what is missing
        except PermissionDenied:
            # roles/pubsub.publisher grants pubsub.topics.publish, not pubsub.topics.get
            # (cloud.google.com/pubsub/docs/access-control): the answer came back over an
            # authenticated channel, which is all a warm-up is for.
            pass
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
        if not_before is not None:
            # Pub/Sub delivers at once: start-up refuses delayed processors on it, and a
            # follow-up asked for at run time is refused here, before anything is sent.
            raise NotConfigured(SCHEDULING_REFUSED)

        return self._batcher(self._ready_path(topic)).submit(
            _raw_types()[1](data=data, attributes=attributes)
        )

    def publish_then(
        self, topic: str, data: bytes, attributes: dict[str, str], then: Followup
    ) -> tuple[str, Any]:
        """The publish's batch makes `then` for its callers once their messages are
        acknowledged, so each caller is woken once for both (shared/backends/_batching.py)."""
        message = _raw_types()[1](data=data, attributes=attributes)
        return self._batcher(self._ready_path(topic)).submit_then(message, then)

    def publish_followup(self, topic: str, data: bytes, attributes: dict[str, str]) -> Followup:
        message = _raw_types()[1](data=data, attributes=attributes)
        return Followup(self._batcher(self._ready_path(topic)), message)

    def _ready_path(self, topic: str) -> str:
        try:
            client = self._client()
            path = self._topic_path(topic)
            self._ensure_topic(client, path)
        except backend_errors() as exc:
            raise _publish_failed(exc) from exc
        return path

    def _batcher(self, path: str) -> Batcher[Any, str]:
        batcher = self._batchers.get(path)
        if batcher is None:
            with self._lock:
                batcher = self._batchers.get(path)
                if batcher is None:

                    def send(messages: list[Any], timeout: float) -> list[str | BaseException]:
                        return self._publish_batch(path, messages, timeout)

                    batcher = Batcher(
                        "queue",
                        send,
                        max_items=_MAX_MESSAGES,
                        size=_message_size,
                        max_size=_MAX_BYTES,
                    )
                    self._batchers[path] = batcher
        return batcher

    def _publish_batch(
        self, path: str, messages: list[Any], timeout: float
    ) -> list[str | BaseException]:
        """One Publish RPC for `messages`: their ids in order, or one failure per message."""
        try:
            wrapper, _ = _raw_types()
            request = wrapper.wrap(wrapper.pb()(topic=path, messages=messages))
            response = self._client().api.publish(request=request, retry=None, timeout=timeout)
        except backend_errors() as exc:
            failures: list[str | BaseException] = []
            for _ in messages:
                failure = _publish_failed(exc)
                failure.__cause__ = exc
                failures.append(failure)
            return failures
        return [str(message_id) for message_id in response.message_ids]

    def stats(self) -> dict[str, dict[str, float]]:
        """Publish RPCs and messages so far, per topic path."""
        with self._lock:
            batchers = dict(self._batchers)
        return {path: batcher.stats() for path, batcher in batchers.items()}


@functools.cache
def _raw_types() -> tuple[Any, Any]:
    """The Publish request's wrapper class and the plain protobuf message class.

    Messages are built as plain protobuf and the request wrapped around them without a
    copy: building them through the client's proto-plus classes cost five times as much
    CPU per message (converted field by field, then again into the request)."""
    from google.pubsub_v1 import PublishRequest, PubsubMessage

    return PublishRequest, PubsubMessage.pb()


def _message_size(message: Any) -> int:
    attributes = sum(len(k) + len(v) for k, v in message.attributes.items())
    return len(message.data) + attributes + 64


def _publish_failed(exc: BaseException) -> BackendUnavailable:
    return BackendUnavailable(f"queue failed to publish: {type(exc).__name__}", retry_after=1)
