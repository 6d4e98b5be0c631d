"""Async functions: an HTTP function that routes on the request's path itself, and a
CloudEvent function; with an async helper and a plain one."""

import functions_framework.aio
from starlette.responses import JSONResponse, PlainTextResponse


def route_table():
    """Helper: the paths `router` answers."""
    return {"/": "index", "/items": "items", "/items/42": "item 42"}


async def lookup(key):
    """Async helper with one argument, as an async HTTP function would have."""
    return route_table().get(key)


@functions_framework.aio.http
async def router(request):
    found = await lookup(request.url.path)
    if found is None:
        return PlainTextResponse(f"no route for {request.url.path}", status_code=404)
    return JSONResponse(
        {"route": found, "url": str(request.url), "root_path": request.scope.get("root_path")}
    )


@functions_framework.aio.cloud_event
async def on_message(cloud_event):
    print("message", cloud_event["id"], cloud_event.data)
