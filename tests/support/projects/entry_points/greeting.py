"""A sibling module `main.py` imports from its own folder."""


def greet(who):
    return f"greetings from a sibling {who}"
