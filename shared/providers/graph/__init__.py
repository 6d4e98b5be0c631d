"""The graph provider: how its requests are verified."""

from shared.providers.graph._verify import verify_graph as verify_graph

__all__ = [
    "verify_graph",
]
