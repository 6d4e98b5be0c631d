"""Bare hello-world targets: the floor of what any server can do per request, synchronous
and async (`functions_framework.aio`, which runrun serves beside the synchronous one)."""

import functions_framework
import functions_framework.aio


@functions_framework.http
def hello(request):  # type: ignore[no-untyped-def]
    return "ok"


@functions_framework.aio.http
async def hello_async(request):  # type: ignore[no-untyped-def]
    return "ok"
