"""Inventory's database side: tables and repositories."""
