"""Side-by-side benchmark of our operator against KubeRay's on the local control plane (``make bench``)."""
