"""Local stand-ins for the Hugging Face Hub and the GitHub API, served on 127.0.0.1."""
