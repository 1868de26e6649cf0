"""Benchmark harness for dmart_attach: `make bench` (never part of `make test`)."""
