"""Budget's adapters: tables, repositories and the ledger store."""
