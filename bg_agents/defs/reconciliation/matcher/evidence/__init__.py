"""Matching by learned evidence (Fellegi-Sunter): features, candidates, comparisons, model."""
