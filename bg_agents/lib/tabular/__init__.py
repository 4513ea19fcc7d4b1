"""Reading tabular exports (CSV, TSV, Parquet) the same way for imports and ``bg-agents match``.

Plain Python, no domain: the rules for bytes, delimiters, amounts, dates, column maps and file
suffixes live here once, so a file that imports also matches and vice versa.
"""
