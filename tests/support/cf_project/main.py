"""An ordinary Cloud Functions project: each function is deployed on its own with
`gcloud functions deploy NAME --entry-point NAME ...` and run locally with
`functions-framework --target NAME [--signature-type TYPE] [--asgi]`."""

import base64
import logging

import flask
import functions_framework
import functions_framework.aio

# Settings kept on the app, as a Flask project would.
flask.current_app.config.setdefault("GREETING", "hello")

logger = logging.getLogger(__name__)


def hello_pubsub(event, context):
    """Background function triggered by a Pub/Sub topic (first generation)."""
    name = base64.b64decode(event["data"]).decode() if "data" in event else "World"
    print(f"Hello {name}! event {context.event_id} of type {context.event_type}")
    logger.warning("pubsub message %s on %s", context.event_id, context.resource)


def on_storage_object(cloud_event):
    """CloudEvent function triggered by a Cloud Storage object change."""
    data = cloud_event.data
    print(
        f"Event ID: {cloud_event['id']} type {cloud_event['type']} "
        f"bucket {data['bucket']} file {data['name']}"
    )
    logger.warning("stored %s/%s", data["bucket"], data["name"])


@functions_framework.aio.http
async def hello_async(request):
    """Async HTTP function (`functions-framework --asgi`)."""
    name = request.query_params.get("name", "async")
    body = await request.body()
    return {"hello": name, "bytes": len(body), "sub_path": request.path_params.get("path", "")}


@functions_framework.http
def app_info(request):
    """Uses the Flask application object."""
    flask.current_app.logger.warning("app_info for %s", request.path)
    return {
        "app": flask.current_app.name,
        "greeting": flask.current_app.config["GREETING"],
        "path": request.path,
    }


@functions_framework.http
def audit(request):
    """Logs what it received at three levels and answers with a count."""
    logger.info("audit info %s", request.method)
    logger.warning("audit warning %s %s", request.method, request.path)
    print("audit printed", request.args.get("n", "0"))
    if request.args.get("fail"):
        logger.error("audit failing on purpose")
        raise ValueError("audit failed")
    return f"audited {request.args.get('n', '0')}\n"
