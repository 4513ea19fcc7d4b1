"""SIMULATED demo data: a made-up history of teams, bank rows, invoices and receipts.

Nothing here is real. :mod:`~bg_agents.simulate.world` generates a deterministic world in memory
(its steps live beside it: catalogs, base, people, transactions, hard_cases, invoices),
:mod:`~bg_agents.simulate.store` writes it to the application database idempotently.
"""
