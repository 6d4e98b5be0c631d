"""Two background entry points sharing one helper, an HTTP entry point that imports a
sibling module, and module attributes that are not functions."""

import json
import os

import functions_framework
from greeting import greet


def fun(name, event):
    """Helper: record which entry point ran with which value."""
    with open(get_file_path(event["filename"]), "w") as out:
        out.write(json.dumps({"entryPoint": name, "value": event["value"]}))


def get_file_path(filename):
    """Helper: where a result file goes."""
    return os.path.join(os.environ.get("RESULTS_DIR", "/tmp"), os.path.basename(filename))


def myFunctionFoo(event, context):  # the entry point's deployed name
    """Background entry point `myFunctionFoo`."""
    fun("myFunctionFoo", event)


def myFunctionBar(event, context):  # the entry point's deployed name
    """Background entry point `myFunctionBar`."""
    fun("myFunctionBar", event)


@functions_framework.http
def with_import(request):
    """HTTP entry point using a function of a sibling module."""
    return greet(request.args.get("who", "module"))


notAFunction = 42  # an attribute that no one could deploy
