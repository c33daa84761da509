"""The milestones service's adapters: tables and the repository."""
