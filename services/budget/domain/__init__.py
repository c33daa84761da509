"""Budget's business rules, free of I/O: the only place money moves."""
