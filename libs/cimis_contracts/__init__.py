"""Versioned event contracts shared by the CIMIS services: the only thing they share besides the chassis."""
