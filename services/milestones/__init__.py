"""The milestones service: each team's phase plan, completion, due dates and overdue detection."""
