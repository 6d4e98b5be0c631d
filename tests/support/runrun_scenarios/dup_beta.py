"""The other module defining a target named `hook` (a CloudEvent one)."""

import functions_framework


@functions_framework.cloud_event
def hook(cloud_event) -> None:
    return None
