"""Chaos run (make chaos): hundreds of RayJobs while the operator, the API server and the dashboard fail."""
