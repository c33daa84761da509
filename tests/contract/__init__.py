"""Persistence contracts that every database backend must pass: SQLite and PostgreSQL."""
