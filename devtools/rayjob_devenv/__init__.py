"""Local development and test environment: control plane, Ray head, proxy (not shipped)."""
