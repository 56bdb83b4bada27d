"""The data records that flow through the pipeline: requests, suites, results, scores, flags."""
