"""Insights: the weekly insight of each team, written by an agent from checked facts."""
