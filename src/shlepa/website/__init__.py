"""The published site: leaderboard data files, MkDocs pages, fast per-model pages, serving."""
