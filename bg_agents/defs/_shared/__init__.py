"""Dagster helpers several domains share: resources, the partitions (the one time axis), sensor
helpers and metadata. Only role files import them."""
