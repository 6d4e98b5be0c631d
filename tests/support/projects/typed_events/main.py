"""A typed function, a CloudEvent function and an HTTP function, with their helpers."""

import functions_framework


class Text:
    """The typed function's input and output."""

    def __init__(self, text):
        self.text = text

    @staticmethod
    def from_dict(data):
        return Text(data["text"])

    def to_dict(self):
        return {"text": self.text}


def normalise(text):
    """Helper: one-argument, as an HTTP function would be: still not an entry point."""
    return " ".join(text.split())


def describe(bucket, name):
    """Helper: two arguments, as a background function would take: still not one."""
    return f"gs://{bucket}/{name}"


@functions_framework.typed
def reverse(message: Text) -> Text:
    return Text(normalise(message.text)[::-1])


@functions_framework.cloud_event
def on_finalized(cloud_event):
    data = cloud_event.data
    print("finalized", describe(data["bucket"], data["name"]), cloud_event["id"])


@functions_framework.http
def status(request):
    return {"ok": True, "path": request.path, "args": request.args.to_dict()}
