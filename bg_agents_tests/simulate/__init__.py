"""The SIMULATED world."""
