"""The intake service: calls, applications, eligibility and teams."""
