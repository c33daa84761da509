"""The fault proof: a seeded workload on the real platform under kills, restarts and poison."""
