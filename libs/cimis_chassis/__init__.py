"""The microservice chassis: mechanisms every CIMIS service shares, and no business rule."""
