"""Operations: metrics, Prometheus rules, Grafana dashboards and the compose deployment."""
