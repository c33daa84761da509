"""Integration tests: real service processes on the real Apache Kafka broker."""
