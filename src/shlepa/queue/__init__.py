"""Step 3, the queue: claims, status commits and pushes, runners, the runner matrix."""
