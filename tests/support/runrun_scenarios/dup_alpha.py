"""One of two modules that each define a target named `hook`."""

import flask
import functions_framework


@functions_framework.http
def hook(request: flask.Request) -> str:
    return "alpha"
