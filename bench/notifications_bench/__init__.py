"""Notifications benchmarks (E1, the notification latency row, e-mail sending): see bench/notifications."""
