"""Notify's adapters: tables, repository, templates, SMTP and webhook senders, metrics."""
