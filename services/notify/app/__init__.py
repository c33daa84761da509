"""Notify's service layer: one handler per command, consumed event and delivery outcome."""
