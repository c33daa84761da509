"""The milestones service's business rules, free of I/O."""
