"""Notify's rules, without I/O: who is alerted about what, when and over which channels."""
