"""Intake's entrypoints: HTTP routes and the process main."""
