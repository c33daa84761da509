"""Intake's service layer: one handler per command."""
