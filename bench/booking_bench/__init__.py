"""Booking benchmarks: S1, B1, B2 and the booking latency rows of PERFORMANCE.md (see docs/benchmarks.md)."""
