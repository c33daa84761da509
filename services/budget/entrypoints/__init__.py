"""Budget's entrypoints: HTTP routes, CSV exports, the reconcile command and the process main."""
