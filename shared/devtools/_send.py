"""A sample delivery for `runrun send`, signed with the secret the target reads.

The samples are the target's provider's (`Provider.samples`, in its package). The secret is
the first value of the env var the provider names, else the dev secret that `runrun serve
--dev` generated for it (the same file, the same state dir). A fresh delivery id and
timestamp are filled into the sample's placeholders each time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.providers import Fulfilment, Provider
from shared.providers._samples import Answer, Draft, Outgoing, Samples, fill
from shared.settings import get_settings, secrets_from_env
from shared.settings._secrets import load_dev_secrets

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


def _body(samples: Samples, event: str, given: bytes | None, values: dict[str, str | int]) -> bytes:
    if given is not None:
        try:
            return fill(given.decode("utf-8"), values)
        except UnicodeDecodeError:
            return given  # not text: sent as it is, without placeholders
    if event in samples.bodyless:
        return b""
    return samples.load(event, values)


def _secret_env(described: Provider | Fulfilment, samples: Samples, event: str) -> str:
    if event in samples.hook_env_events and described.hook_envs:
        return described.hook_envs[0]
    return described.secret_env


def _draft(
    described: Provider | Fulfilment,
    event: str,
    url: str,
    body: bytes | None,
    stale: bool,
    bad: bool,
) -> Draft:
    samples = described.samples
    assert samples is not None  # sample_delivery refuses a target without samples
    env = _secret_env(described, samples, event)
    secret = _secret(env)
    if secret is None:
        if event not in samples.keyless:
            raise ValueError(f"{env} is not set: send signs with the secret the target reads")
        secret = ""
    if stale and not samples.timestamped:
        raise ValueError(f"{samples.name} signs no timestamp: --stale means nothing there")
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
    filled = _body(samples, event, body, values)
    return Draft(url, event, filled, signed_with, stamp, delivery_id, bad)


def sample_delivery(
    described: Provider | Fulfilment,
    event: str,
    url: str,
    body: bytes | None = None,
    stale: bool = False,
    bad_signature: bool = False,
) -> SampleDelivery:
    """The sample `event` of `described`'s provider, signed, addressed to `url`.

    Raises:
        ValueError: no samples for the target, no such sample, or no secret to sign with.
    """
    samples = described.samples
    if samples is None:
        raise ValueError(f"no samples for {described.target!r}")
    if event not in samples.events and body is None:
        raise ValueError(f"no sample {event!r} for {described.target}: {', '.join(samples.events)}")
    draft = _draft(described, event, url, body, stale, bad_signature)
    return SampleDelivery(samples.build(draft))
