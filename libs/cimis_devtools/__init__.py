"""Local development and test infrastructure: a Kafka broker and a PostgreSQL server."""
