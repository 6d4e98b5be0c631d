"""A TCP proxy that holds back a backend's replies: a backend answering slowly, as during a
latency spike, while every request still reaches it (so writes land, their answers late).

Requests go through at once; each chunk of the backend's replies is released `delay`
seconds after it arrived, in order. Setting `delay` to 0 ends the spike: whatever is held
is released at once. Runs its own asyncio loop on a thread; 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator


class DelayProxy:
    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.delay = 0.0
        self.held = 0  # reply chunks released late, for the figures
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DelayProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delaying proxy did not start")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.05)  # let the transports finish closing

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=256)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            backend_r, backend_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        pump = asyncio.ensure_future(_pump(client_r, backend_w))
        hold = asyncio.ensure_future(self._hold(backend_r, held))
        release = asyncio.ensure_future(self._release(held, client_w))
        try:
            # Until the client hangs up, or the backend did and every held reply was released.
            await asyncio.wait([pump, release], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, hold, release):
                task.cancel()
            await asyncio.gather(pump, hold, release, return_exceptions=True)
            for writer in (client_w, backend_w):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    async def _hold(
        self, reader: asyncio.StreamReader, held: asyncio.Queue[tuple[float, bytes]]
    ) -> None:
        while data := await reader.read(65536):
            held.put_nowait((time.monotonic() + self.delay, data))
        held.put_nowait((0.0, b""))

    async def _release(
        self, held: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter
    ) -> None:
        while True:
            due, data = await held.get()
            if not data:
                return
            late = False
            while self.delay > 0 and time.monotonic() < due:
                late = True
                await asyncio.sleep(min(0.02, due - time.monotonic()))
            self.held += late
            writer.write(data)
            await writer.drain()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@contextlib.contextmanager
def delay_proxy(upstream: str) -> Iterator[DelayProxy]:
    proxy = DelayProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
