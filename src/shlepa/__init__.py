"""Shlepa: the GitHub-native open LLM leaderboard."""

__version__ = "0.1.0"
