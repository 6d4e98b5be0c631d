"""`process_delivery`: the other side of the queue. Pub/Sub pushes each delivery here (a
push envelope, or a CloudEvent when deployed as a Cloud Function with --trigger-topic); the
embedded queue hands the same CloudEvent to the runtime directly, without HTTP.

The processors it runs are those of `functions.processors` (RUNRUN_PROCESSORS): every one
runs; a failure of any answers 500 so that Pub/Sub redelivers, and on that redelivery only
the failed ones run again.
"""

import flask
import functions_framework

from shared import process_push


@functions_framework.http
def process_delivery(request: flask.Request) -> flask.Response:
    return process_push(request)
