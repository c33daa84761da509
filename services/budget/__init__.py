"""The budget service: the programme pot, team allocations, tranches, expenses and the ledger."""
