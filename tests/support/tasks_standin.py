"""A local gRPC stand-in for the parts of Cloud Tasks the emulator does not play: it keeps
each task name once (a second create is ALREADY_EXISTS, as Cloud Tasks answers), refuses a
task over 1 MB (INVALID_ARGUMENT, cloud.google.com/tasks/docs/quotas), and can hold a
create until released, so the official client's deadline runs out after the task
was stored (a create that succeeded but answered too late).

It speaks the real `google.cloud.tasks.v2.CloudTasks` service over gRPC with the official
client's own request and response types: a contract test of our use of the client.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.cloud import tasks_v2

SERVICE = "google.cloud.tasks.v2.CloudTasks"
MAX_TASK_BYTES = 1_000_000  # "Maximum task size: 1MB" (cloud.google.com/tasks/docs/quotas)


class CloudTasksStandIn:
    def __init__(self) -> None:
        self.tasks: dict[str, Any] = {}
        self.creates = 0
        self.hold = threading.Event()  # set: every create waits for `released`
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server = grpc.server(ThreadPoolExecutor(max_workers=8))
        handlers = {
            "CreateTask": grpc.unary_unary_rpc_method_handler(
                self._create_task,
                request_deserializer=tasks_v2.CreateTaskRequest.deserialize,
                response_serializer=tasks_v2.Task.serialize,
            ),
            "CreateQueue": grpc.unary_unary_rpc_method_handler(
                self._create_queue,
                request_deserializer=tasks_v2.CreateQueueRequest.deserialize,
                response_serializer=tasks_v2.Queue.serialize,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{port}"

    def start(self) -> CloudTasksStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.stop(grace=None)

    def _create_queue(self, request: Any, context: grpc.ServicerContext) -> Any:
        return request.queue

    def _create_task(self, request: Any, context: grpc.ServicerContext) -> Any:
        task = request.task
        if tasks_v2.Task.pb(task).ByteSize() > MAX_TASK_BYTES:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Task size too large")
        with self._lock:
            self.creates += 1
            exists = task.name in self.tasks
            if not exists:
                self.tasks[task.name] = task
        if self.hold.is_set():
            self.released.wait(30)
        if exists:
            context.abort(grpc.StatusCode.ALREADY_EXISTS, "Requested entity already exists")
        return task
