"""How the milestones service is driven: HTTP routes, the intake consumer, the scheduler, main."""
