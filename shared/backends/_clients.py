"""Building the Google Cloud clients. The runtime builds each one lazily, once per process
(never in a pre-fork master: gRPC channels must not cross a fork).

The Google client libraries are heavy to import, so they are imported here, on first use,
not when a target module is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud import firestore
    from google.cloud.devtools.cloudbuild_v1 import CloudBuildClient
    from google.cloud.pubsub_v1 import PublisherClient

# The emulators accept any project id; this one is used only when none is configured.
EMULATOR_PROJECT = "runrun-local"


def default_project() -> str:
    """The project of the runtime's credentials (Cloud Run does not set GOOGLE_CLOUD_PROJECT)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        _, project = google.auth.default()
    except DefaultCredentialsError:
        return ""
    return project or ""


def make_firestore(project: str | None) -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=project)


def make_publisher_client() -> PublisherClient:
    from google.cloud.pubsub_v1 import PublisherClient

    return PublisherClient()


def make_cloudbuild(endpoint: str | None) -> CloudBuildClient:
    """Cloud Build over its REST transport; `endpoint` replaces Google's (a regional one, or
    a local stand-in: a plain-HTTP endpoint is one, and gets no credentials)."""
    from google.api_core.client_options import ClientOptions
    from google.cloud.devtools.cloudbuild_v1 import CloudBuildClient

    options = ClientOptions(api_endpoint=endpoint) if endpoint else None
    credentials = None
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    return CloudBuildClient(transport="rest", client_options=options, credentials=credentials)


def backend_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the backend failed", as opposed to a bug of ours."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    return (GoogleAPIError, GoogleAuthError, OSError)


def make_tasks_client(emulator: str | None) -> Any:
    """The official Cloud Tasks client; on the emulator (host:port), over a plain channel."""
    from google.cloud import tasks_v2

    if emulator is None:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    return tasks_v2.CloudTasksClient(
        transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(emulator))
    )
