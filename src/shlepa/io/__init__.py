"""Reading and writing files safely: strict YAML, atomic writes, the repository root."""
