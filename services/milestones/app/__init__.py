"""The milestones service layer: one handler per command or consumed event, and the overdue scan."""
