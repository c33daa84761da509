"""Notify's entrypoints: the HTTP API, the Kafka consumer, the delivery worker and main."""
