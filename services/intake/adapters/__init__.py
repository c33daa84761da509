"""Intake's adapters: tables and repositories."""
