"""The one list of tabular file suffixes imports and ``bg-agents match`` both accept."""

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
TABULAR_SUFFIXES = CSV_SUFFIXES | PARQUET_SUFFIXES
