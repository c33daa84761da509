"""Benchmarks: commands that print figures; never assertions in tests."""
