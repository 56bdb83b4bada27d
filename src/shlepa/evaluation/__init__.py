"""Step 2, evaluate: run a request's suite with lm-eval and build its results file."""
