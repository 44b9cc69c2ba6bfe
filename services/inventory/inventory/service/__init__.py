"""Inventory's use cases: each one transaction, its events in the same transaction."""
