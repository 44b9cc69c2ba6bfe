"""W1 and the day's free times page latency row of PERFORMANCE.md (bench/web, see docs/benchmarks.md)."""
