"""Ingestion: bank files, the import pipeline, the transactions asset."""
