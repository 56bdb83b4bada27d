"""Step 4, publish: board data, rendering and the static site build."""
