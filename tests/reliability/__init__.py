"""Reliability tests: killed service processes and a restarted broker, then the invariants."""
