"""Run gcloud-tasks-emulator on 127.0.0.1:PORT only (run by the emulator's own python).

Its APIThread.run binds `[::]:PORT`; this thread does the same work on the loopback
address. Failed tasks are retried at once (the emulator ignores the queue's retry config).
"""

import logging
import sys
import threading
from concurrent import futures

import grpc
from gcloud_tasks_emulator import server as emulator


class LoopbackAPIThread(emulator.APIThread):
    def run(self):
        self._httpd = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        emulator.add_CloudTasksServicer_to_server(emulator.Greeter(self._state), self._httpd)
        self._httpd.add_insecure_port(f"127.0.0.1:{self._port}")
        self._httpd.start()
        threading.Event().wait()  # until the process ends


def main() -> None:
    port = int(sys.argv[1])
    logging.basicConfig(level=logging.ERROR)
    server = emulator.create_server("127.0.0.1", port)
    server._api = LoopbackAPIThread(server._state, "127.0.0.1", port, daemon=True)
    server.run()


if __name__ == "__main__":
    main()
