"""The Google Cloud clients, one per process, built lazily (never in a pre-fork master).

The Google client libraries are heavy to import, so they are imported here, on first use,
not when a target module is loaded.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._config import get_settings
from ._lazy import Lazy

if TYPE_CHECKING:
    from google.cloud import firestore
    from google.cloud.pubsub_v1 import PublisherClient

# The emulators accept any project id; this one is used only when none is configured.
EMULATOR_PROJECT = "runrun-local"


def _default_project() -> str:
    """The project of the runtime's credentials (Cloud Run does not set GOOGLE_CLOUD_PROJECT)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        _, project = google.auth.default()
    except DefaultCredentialsError:
        return ""
    return project or ""


_adc_project: Lazy[str] = Lazy(_default_project)


def project_id() -> str | None:
    project = get_settings().project
    if project is not None:
        return project
    if os.environ.get("FIRESTORE_EMULATOR_HOST") or os.environ.get("PUBSUB_EMULATOR_HOST"):
        return EMULATOR_PROJECT
    if os.environ.get("K_SERVICE"):
        return _adc_project.get() or None
    return None


def _firestore() -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=project_id())


def _publisher() -> PublisherClient:
    from google.cloud.pubsub_v1 import PublisherClient

    return PublisherClient()


firestore_client: Lazy[firestore.Client] = Lazy(_firestore)
publisher_client: Lazy[PublisherClient] = Lazy(_publisher)


def backend_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the backend failed", as opposed to a bug of ours."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    return (GoogleAPIError, GoogleAuthError, OSError)


def reset_clients() -> None:
    """Forget the clients (tests point them at a new emulator or project)."""
    for lazy in (firestore_client, publisher_client):
        client: Any = lazy.peek()
        lazy.reset()
        if client is not None and hasattr(client, "close"):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a dead client must not fail a reset
                pass
