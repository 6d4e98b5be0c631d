"""A sample delivery for `runrun send`, signed with the secret the target reads.

The secret is the first value of the env var the target reads, else the dev secret that
`runrun serve --dev` generated for it (the same file, the same state dir). A fresh delivery
id and timestamp are filled into the sample's placeholders each time (`samples`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.settings import get_settings, secrets_from_env
from shared.settings._secrets import load_dev_secrets

from . import samples
from ._deliveries import Answer, Draft, Outgoing, Sender, sender_for

STALE_SECONDS = 24 * 3600  # far outside every provider's tolerance (Slack's is 5 minutes)


@dataclass(frozen=True)
class SampleDelivery:
    """A request ready to go (`runrun.hooks.SampleRequest`), and the provider's idea of
    success for its answer."""

    outgoing: Outgoing

    @property
    def method(self) -> str:
        return self.outgoing.method

    @property
    def url(self) -> str:
        return self.outgoing.url

    @property
    def headers(self) -> Mapping[str, str]:
        return self.outgoing.headers

    @property
    def body(self) -> bytes:
        return self.outgoing.body

    @property
    def hidden(self) -> Iterable[str]:
        return self.outgoing.hidden

    @property
    def hidden_values(self) -> Iterable[str]:
        return self.outgoing.hidden_values

    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> str | None:
        return self.outgoing.check(Answer(status, headers, body))


def _secret(env: str) -> str | None:
    """The first value of `env`, else the dev secret `runrun serve --dev` generated for it."""
    values = secrets_from_env(env)
    if values:
        return values[0].decode()
    return load_dev_secrets(get_settings().dev.secrets_path).get(env)


def _body(sender: Sender, event: str, given: bytes | None, values: dict[str, str | int]) -> bytes:
    if given is not None:
        try:
            return samples.fill(given.decode("utf-8"), values)
        except UnicodeDecodeError:
            return given  # not text: sent as it is, without placeholders
    if event in sender.bodyless:
        return b""
    return samples.load(sender.provider, event, values)


def _draft(
    sender: Sender, event: str, url: str, body: bytes | None, stale: bool, bad: bool
) -> Draft:
    env = sender.event_envs.get(event, sender.secret_env)
    secret = _secret(env)
    if secret is None:
        if event not in sender.keyless:
            raise ValueError(f"{env} is not set: send signs with the secret the target reads")
        secret = ""
    if stale and not sender.timestamped:
        raise ValueError(f"{sender.provider} signs no timestamp: --stale means nothing there")
    now = int(time.time())
    stamp = now - STALE_SECONDS if stale else now
    delivery_id = uuid.uuid4().hex
    signed_with = f"not-{secret}" if bad else secret
    values: dict[str, str | int] = {
        "id": delivery_id,
        "n": str(int(delivery_id, 16))[:19],
        "ts": stamp,
        "ts_ms": stamp * 1000,
        "iso": datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "client_state": signed_with,
    }
    filled = _body(sender, event, body, values)
    return Draft(url, event, filled, signed_with, stamp, delivery_id, bad)


def sample_delivery(
    target: str,
    event: str,
    url: str,
    body: bytes | None = None,
    stale: bool = False,
    bad_signature: bool = False,
) -> SampleDelivery:
    """The sample `event` for `target`, signed, addressed to `url`.

    Raises:
        ValueError: no samples for the target, no such sample, or no secret to sign with.
    """
    sender = sender_for(target)
    if sender is None:
        raise ValueError(f"no samples for {target!r}")
    if event not in sender.events and body is None:
        raise ValueError(f"no sample {event!r} for {target}: {', '.join(sender.events)}")
    draft = _draft(sender, event, url, body, stale, bad_signature)
    return SampleDelivery(sender.build(draft))
