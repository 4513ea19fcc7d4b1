"""Analyst: ask and chat."""
