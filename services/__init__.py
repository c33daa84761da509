"""The CIMIS services; none of them imports another."""
