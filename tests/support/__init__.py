"""Helpers the tests and benchmarks share: result sets, a site server, git boards, local series."""
