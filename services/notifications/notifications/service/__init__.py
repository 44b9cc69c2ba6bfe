"""Notifications' use cases: projecting booking's events, queueing messages, sending them."""
