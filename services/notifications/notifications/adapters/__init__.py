"""Notifications' database side: tables and repositories."""
