"""End-to-end tests on a kind cluster with the real images (opt-in; see e2e/README.md)."""
