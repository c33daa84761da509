"""The notify service: network agents' contacts and the alerts that reach them."""
