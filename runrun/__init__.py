"""runrun: every functions-framework target of main.py in one Cloud Run container."""
