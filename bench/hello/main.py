"""A bare hello-world target: the floor of what any server can do per request."""

import functions_framework


@functions_framework.http
def hello(request):  # type: ignore[no-untyped-def]
    return "ok"
