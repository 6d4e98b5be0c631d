"""What a library may hand `runrun serve`: optional start/stop hooks, extra routes and samples.

runrun serves any functions-framework project and knows nothing of the libraries a project
uses. A library that needs to run something around serving (open its clients in each
worker, check its settings before any worker starts, add a page, sign sample requests for
`runrun send`) opts in from the source module, by binding one module attribute:

    # main.py
    from mylibrary import runrun_hooks   # an object with any of the methods below

runrun reads `getattr(source_module, "runrun_hooks", None)` after importing the source, and
calls each method only if the object has it (`getattr`): a library implements only what it
needs, and never imports runrun (the types here are for reading and for type checkers).
Building the object must start nothing: under plain functions-framework no method is ever
called, so the library must still work without them (for example by starting itself on the
first request).

When each method runs, in `runrun serve`:

1. `check(served, defined)`: once, in the serving process, after the source is imported and
   before any worker starts. `served` are the names of the targets this process serves,
   `defined` every target the source defines (they differ under `--target`). Raising any
   exception refuses the start: runrun prints `runrun: <the exception's message>` as one line
   and exits with status 2. The place for settings validation and dev-mode preparation.
2. `routes(served)`: once per process that builds the app. Returns `{name: wsgi_app}`; each
   app is mounted at `/_runrun/<name>` with WSGI mount semantics (`SCRIPT_NAME` is
   `/_runrun/<name>`, `PATH_INFO` the rest). `health` is runrun's own and cannot be taken.
3. `worker_started()`: in each worker process (or thread, with one worker), before it
   serves its first request.
4. `worker_stopping(timeout)`: in each worker, after its last request (SIGTERM, SIGINT or a
   reload); `timeout` is the seconds left for the hook to finish.

And in `runrun send TARGET [SAMPLE]`, which imports the source without serving it:

5. `samples()`: `{target: [sample, ...]}`, the sample requests the library can build for each
   target; the first one is the default.
6. `sample_request(target, sample, url, body=None, stale=False, bad_signature=False)`:
   one request as the sender (a webhook provider, say) would send it to `url`: a
   `SampleRequest`. `body`, when given, replaces the sample's body (`--body FILE`);
   `stale` and `bad_signature` ask for a request a correct target must refuse. Raising
   `ValueError` refuses the send with its message.

And for any command that is not runrun's own (`runrun NAME ARGS...`):

7. `commands()`: `{name: (help, run)}`; `run(args)` gets the arguments after the name and
   returns the exit status (`runrun catch-up github ...`, say).

With no `runrun_hooks`, runrun serves the targets and nothing else: it writes no file, starts
no thread of its own beyond the server's, and `runrun send` posts a plain body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["HOOKS_ATTRIBUTE", "RunrunHooks", "SampleRequest"]

# The source module's attribute runrun reads its hooks from.
HOOKS_ATTRIBUTE = "runrun_hooks"


class SampleRequest(Protocol):
    """One request `runrun send` sends, as `sample_request` builds it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    # Header names whose values `runrun send` never prints (signatures, tokens).
    hidden: Iterable[str]
    # Values never printed wherever they appear (a token in the URL's query).
    hidden_values: Iterable[str]

    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> str | None:
        """Why the sender would not count this answer as a success; None: it would.
        `headers` are lower-cased."""
        ...


class RunrunHooks(Protocol):
    """Every method a library may provide; each is optional (see the module docstring).

    A type checker holds a full implementation to this Protocol; a partial one is checked
    by runrun at run time, method by method.
    """

    def check(self, served: Sequence[str], defined: Sequence[str]) -> None:
        """In the serving process, before any worker starts; raising refuses the start."""
        ...

    def routes(self, served: Sequence[str]) -> Mapping[str, WSGIApplication]:
        """WSGI apps to mount, each at `/_runrun/<name>`."""
        ...

    def worker_started(self) -> None:
        """In each worker, before its first request."""
        ...

    def worker_stopping(self, timeout: float) -> None:
        """In each worker, after its last request, within `timeout` seconds."""
        ...

    def samples(self) -> Mapping[str, Sequence[str]]:
        """The sample requests `runrun send` can send, by target; the first is the default."""
        ...

    def sample_request(
        self,
        target: str,
        sample: str,
        url: str,
        body: bytes | None = None,
        stale: bool = False,
        bad_signature: bool = False,
    ) -> SampleRequest:
        """One sample request to `url`, as its sender would send it."""
        ...

    def commands(self) -> Mapping[str, tuple[str, Callable[[Sequence[str]], int]]]:
        """Commands the library adds to `runrun`: by name, a help line and what runs it."""
        ...
