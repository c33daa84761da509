"""The ``cimis`` command: API keys, local Kafka, topics and running the platform."""
