"""Intake's business rules, free of I/O."""
