"""A local stand-in for FCM's HTTP v1 API and Google's OAuth token endpoint, for contract tests.

FCM has no emulator. This is not one either: it records exactly what the official
firebase-admin SDK sent (the OAuth JWT-bearer exchange and each messages:send request) and
answers what a test scripts, in FCM's documented error format, so the tests check our use
of the SDK against the API's contract.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google.auth import jwt

from tests.support.helpers import rsa_key_pair

PROJECT = "runrun-fcm"
CLIENT_EMAIL = f"notify@{PROJECT}.iam.gserviceaccount.com"
TOKEN = "stand-in-access-token"
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

# (status, body) for one messages:send request; None means "accept it".
Answer = tuple[int, dict[str, Any]] | None


def fcm_error(status: int, rpc_status: str, fcm_code: str | None = None) -> Answer:
    """An error body as FCM v1 answers it (google.rpc.Status with an FcmError detail)."""
    error: dict[str, Any] = {"code": status, "message": f"{rpc_status} from the stand-in"}
    error["status"] = rpc_status
    if fcm_code:
        error["details"] = [{"@type": _FCM_ERROR, "errorCode": fcm_code}]
    return status, {"error": error}


@dataclass
class Sent:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FcmStandIn:
    url: str
    public_pem: bytes
    answer: Callable[[int, dict[str, Any]], Answer] = lambda n, body: None
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Sent] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fcm_url(self) -> str:
        """The value for the SDK's FCM endpoint template (its {0} is the project id)."""
        return self.url + "/v1/projects/{0}/messages:send"

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [sent.body["message"] for sent in self.requests]

    def accepted_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.accepted)


def _handler(stand_in: FcmStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (about 40 ms per request).
        disable_nagle_algorithm = True

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                self._token(raw)
            else:
                self._send(raw)

        def _token(self, raw: bytes) -> None:
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            # The SDK's real exchange: a JWT signed with the service account's key.
            claims = jwt.decode(form["assertion"], certs=stand_in.public_pem)
            with stand_in.lock:
                stand_in.token_requests.append({"form": form, "claims": claims})
            self._reply(200, {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"})

        def _send(self, raw: bytes) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(*fcm_error(401, "UNAUTHENTICATED") or (401, {}))
                return
            body = json.loads(raw)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with stand_in.lock:
                n = len(stand_in.requests)
                stand_in.requests.append(Sent(self.path, headers, body))
            answer = stand_in.answer(n, body)
            if answer is not None:
                self._reply(*answer)
                return
            with stand_in.lock:
                if not body.get("validate_only"):
                    stand_in.accepted.append(body["message"])
                name = f"projects/{PROJECT}/messages/{n}"
            self._reply(200, {"name": name})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def service_account_file(directory: Path, token_uri: str) -> tuple[Path, bytes]:
    """A service-account key file whose token_uri is the stand-in, and its public key."""
    private_pem, public_pem = rsa_key_pair()
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "stand-in-key",
        "private_key": private_pem,
        "client_email": CLIENT_EMAIL,
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(info))
    return path, public_pem


@contextmanager
def fcm_stand_in(directory: Path) -> Iterator[tuple[FcmStandIn, Path]]:
    """Serve the stand-in on 127.0.0.1; yields it and the service-account file to use."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    credentials, public_pem = service_account_file(directory, url + "/token")
    stand_in = FcmStandIn(url=url, public_pem=public_pem)
    server.RequestHandlerClass = _handler(stand_in)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fcm-stand-in", daemon=True)
    thread.start()
    try:
        yield stand_in, credentials
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
