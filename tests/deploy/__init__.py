"""The Kubernetes deployment: the Helm chart rendered in every variant, and what it runs."""
