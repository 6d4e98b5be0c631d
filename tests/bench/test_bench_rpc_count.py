"""The benchmark's RPC counting: a real Firestore and Pub/Sub client, through the counting
proxy, to the real emulators. Each call is counted once under its method, and a batch is
counted with the number of writes or messages it carried."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._rpc_proxy import CountingProxy
from shared import reload_settings
from shared.backends import _batch_sizes
from tests.support.emulators import Emulators

COMMIT = "/google.firestore.v1.Firestore/Commit"
PUBLISH = "/google.pubsub.v1.Publisher/Publish"


@pytest.fixture
def proxies(emulators: Emulators) -> Iterator[tuple[CountingProxy, CountingProxy]]:
    firestore, pubsub = (
        CountingProxy(emulators.firestore_host),
        CountingProxy(emulators.pubsub_host),
    )
    yield firestore, pubsub
    firestore.close()
    pubsub.close()


@pytest.mark.emulators
def test_each_call_and_its_batch_size_are_counted(
    proxies: tuple[CountingProxy, CountingProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    firestore_proxy, pubsub_proxy = proxies
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_proxy.address)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_proxy.address)
    from google.cloud import firestore, pubsub_v1

    suffix = uuid.uuid4().hex[:8]
    db = firestore.Client(project="runrun-test")
    collection = db.collection(f"counted-{suffix}")
    collection.document("one").set({"n": 1})
    batch = db.batch()
    for name in ("a", "b", "c"):
        batch.set(collection.document(name), {"n": name})
    batch.commit()

    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=1)
    )
    topic = publisher.topic_path("runrun-test", f"counted-{suffix}")
    publisher.create_topic(name=topic)
    publisher.publish(topic, b"x").result(timeout=30)

    firestore_seen = firestore_proxy.counts.snapshot()
    assert firestore_seen["calls"] == {COMMIT: 2}
    assert firestore_seen["batch_sizes"] == {COMMIT: {1: 1, 3: 1}}
    pubsub_seen = pubsub_proxy.counts.snapshot()
    assert pubsub_seen["calls"][PUBLISH] == 1
    assert pubsub_seen["batch_sizes"] == {PUBLISH: {1: 1}}

    firestore_proxy.counts.reset()
    assert firestore_proxy.counts.snapshot() == {"calls": {}, "batch_sizes": {}}


def test_batch_sizes_are_written_out_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = f"test.batches-{uuid.uuid4().hex[:8]}"
    _batch_sizes.record(kind, 3)
    _batch_sizes.record(kind, 3)
    _batch_sizes.record(kind, 1)
    assert _batch_sizes.snapshot()[kind] == {1: 1, 3: 2}

    monkeypatch.delenv("RUNRUN_BATCH_SIZES_DIR", raising=False)
    assert _batch_sizes.write_out(reload_settings().server.batch_sizes_dir) is None
    monkeypatch.setenv("RUNRUN_BATCH_SIZES_DIR", str(tmp_path / "sizes"))
    written = _batch_sizes.write_out(reload_settings().server.batch_sizes_dir)
    assert written is not None and written.parent == tmp_path / "sizes"
    assert '"3": 2' in written.read_text()


def test_the_proxy_closes_both_ends_of_every_connection() -> None:
    """A socket left to the collector warns in whichever test runs then, and pytest turns
    that warning into that test's failure: every socket the proxy opened must be closed by
    the proxy itself, whether the client hung up or `close()` ended the connection."""
    upstream = socket.create_server(("127.0.0.1", 0))

    def echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(16):
                conn.sendall(data)

    def accept() -> None:
        while True:
            try:
                conn, _ = upstream.accept()
            except OSError:
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    proxy = CountingProxy(f"127.0.0.1:{upstream.getsockname()[1]}")
    clients = [socket.create_connection(("127.0.0.1", proxy.port), timeout=10) for _ in range(4)]
    for client in clients:
        client.sendall(b"ping")
        assert client.recv(16) == b"ping"  # relayed both ways: every relay is running
    relayed = proxy.open_sockets()
    assert len(relayed) == 8
    for client in clients[:2]:  # these hang up themselves
        client.close()
    proxy.close()
    for client in clients[2:]:  # these were still open: close() ended them
        assert client.recv(16) == b""
        client.close()
    deadline = time.monotonic() + 10
    while any(s.fileno() != -1 for s in relayed) and time.monotonic() < deadline:
        time.sleep(0.05)
    upstream.close()
    assert [s for s in relayed if s.fileno() != -1] == []
    assert proxy.open_sockets() == []
