"""Count the gRPC calls a server makes to an emulator, and how many writes or messages each
carries, by standing between the two as a TCP proxy.

Counting on the wire needs nothing switched on in the server (so its CPU figure stays its
own) and sees every call whichever client or batching code made it. The client-to-emulator
direction is read as HTTP/2 frames: a HEADERS block opens a call (its `:path` names the
method, decoded with hpack as the emulator would), and the first request message in that
call's DATA frames says how many writes (Firestore `Commit`/`BatchWrite`) or messages
(Pub/Sub `Publish`) the call carries. The emulator-to-client direction is passed on as is.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter
from typing import Any

import hpack

from ._servers import free_port

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _CONTINUATION = 0x0, 0x1, 0x9
_END_HEADERS, _PADDED, _PRIORITY = 0x4, 0x8, 0x20


def _batch_fields() -> dict[str, tuple[Any, str]]:
    """Method path -> (protobuf request class, the repeated field that is the batch)."""
    from google.cloud.firestore_v1.types import firestore as fs
    from google.pubsub_v1.types import pubsub

    return {
        "/google.firestore.v1.Firestore/Commit": (fs.CommitRequest.pb(), "writes"),
        "/google.firestore.v1.Firestore/BatchWrite": (fs.BatchWriteRequest.pb(), "writes"),
        "/google.pubsub.v1.Publisher/Publish": (pubsub.PublishRequest.pb(), "messages"),
    }


class RpcCounts:
    """Calls per method and, for batching methods, how many calls carried n items."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.sizes: dict[str, Counter[int]] = {}

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.sizes.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": dict(self.calls),
                "batch_sizes": {m: dict(sorted(c.items())) for m, c in self.sizes.items()},
            }


class _Http2Reader:
    """Follows one connection's client-to-server frames and records each call."""

    def __init__(self, counts: RpcCounts, batches: dict[str, tuple[Any, str]]) -> None:
        self.counts, self.batches = counts, batches
        self.buffer = bytearray()
        self.preface_seen = False
        self.decoder = hpack.Decoder()
        self.decoder.max_allowed_table_size = 1 << 20
        self.block = bytearray()  # a header block spread over CONTINUATION frames
        self.block_stream = 0
        self.pending: dict[int, tuple[str, bytearray]] = {}  # stream -> (method, message bytes)

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if not self.preface_seen:
            if len(self.buffer) < len(_PREFACE):
                return
            del self.buffer[: len(_PREFACE)]
            self.preface_seen = True
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            stream = struct.unpack(">I", self.buffer[5:9])[0] & 0x7FFFFFFF
            payload = bytes(self.buffer[9 : 9 + length])
            del self.buffer[: 9 + length]
            self._frame(kind, flags, stream, payload)

    @staticmethod
    def _unpad(flags: int, payload: bytes) -> bytes:
        if flags & _PADDED:
            return payload[1 : len(payload) - payload[0]]
        return payload

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == _HEADERS:
            payload = self._unpad(flags, payload)
            if flags & _PRIORITY:
                payload = payload[5:]
            self.block, self.block_stream = bytearray(payload), stream
            if flags & _END_HEADERS:
                self._headers_done()
        elif kind == _CONTINUATION:
            self.block += payload
            if flags & _END_HEADERS:
                self._headers_done()
        elif kind == _DATA and stream in self.pending:
            method, message = self.pending[stream]
            message += self._unpad(flags, payload)
            # A gRPC message: 1 byte compressed flag, 4 bytes length, the protobuf bytes.
            size = int.from_bytes(message[1:5], "big") if len(message) >= 5 else -1
            if size >= 0 and len(message) >= 5 + size:
                del self.pending[stream]
                self._record_batch(method, bytes(message[5 : 5 + size]))

    def _headers_done(self) -> None:
        # Every block is decoded, in order, to keep hpack's dynamic table in step.
        headers = dict(self.decoder.decode(bytes(self.block)))
        method = headers.get(":path")
        if method is None:
            return  # trailers
        with self.counts.lock:
            self.counts.calls[method] += 1
        if method in self.batches:
            self.pending[self.block_stream] = (method, bytearray())

    def _record_batch(self, method: str, message: bytes) -> None:
        request_class, field = self.batches[method]
        size = len(getattr(request_class.FromString(message), field))
        with self.counts.lock:
            self.counts.sizes.setdefault(method, Counter())[size] += 1


class CountingProxy:
    """Listens on a free 127.0.0.1 port and forwards every connection to `upstream`."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.counts = RpcCounts()
        self._batches = _batch_fields()
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # both ends of every live connection
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open |= {client, server}
            reader = _Http2Reader(self.counts, self._batches)
            threading.Thread(target=self._relay, args=(client, server, reader), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket, reader: _Http2Reader) -> None:
        """Carry one connection both ways; close both sockets once both directions ended, so
        none is left for the collector to find (and warn about) in whatever runs later."""
        back = threading.Thread(target=_pump, args=(server, client, None), daemon=True)
        back.start()
        _pump(client, server, reader)
        back.join()
        with self._lock:
            self._open -= {client, server}
        client.close()
        server.close()

    def open_sockets(self) -> list[socket.socket]:
        """Both ends of every connection being relayed now."""
        with self._lock:
            return list(self._open)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):  # wakes the accept() that close() alone would not
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for sock in self.open_sockets():  # their relays wake, then close them
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _pump(source: socket.socket, sink: socket.socket, reader: _Http2Reader | None) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
            if reader is not None:
                try:
                    reader.feed(data)
                except Exception as exc:  # a frame not understood: say so, keep forwarding
                    reader.counts.calls[f"unparsed ({exc.__class__.__name__})"] += 1
                    reader = None
    except OSError:
        pass
    finally:  # one direction ended: end the other, so its pump returns too
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
