"""Microsoft Graph change and lifecycle notifications: its description and its verifier."""

from shared.providers.graph._description import GRAPH as GRAPH
from shared.providers.graph._verify import verify_graph as verify_graph

__all__ = [
    "GRAPH",
    "verify_graph",
]
