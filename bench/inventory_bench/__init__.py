"""Inventory benchmarks (I1, I2 and the inventory latency rows); started by bench/inventory."""
