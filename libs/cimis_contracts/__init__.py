"""Versioned event contracts: what the CIMIS services share besides the chassis."""
