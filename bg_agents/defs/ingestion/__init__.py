"""Ingestion: providers (simulated bank feed, import files) to validated, upserted transactions."""
