"""Budget's service layer: one handler per consumed event and per API command."""
