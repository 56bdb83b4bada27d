"""The offline demo: tiny local models evaluated on the bundled data."""
