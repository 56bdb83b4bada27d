"""Step 1, submit and validate: request files, Hub checks, the PR checklist."""
