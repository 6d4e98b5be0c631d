"""Microsoft Graph change and lifecycle notifications: description, verifier and samples."""

from shared.providers.graph._description import GRAPH as GRAPH
from shared.providers.graph._description import GRAPH as PROVIDER
from shared.providers.graph._verify import verify_graph as verify_graph

__all__ = [
    "GRAPH",
    "PROVIDER",
    "verify_graph",
]
