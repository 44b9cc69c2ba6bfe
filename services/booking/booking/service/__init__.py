"""Booking's use cases: each owns its transaction and the events it announces."""
