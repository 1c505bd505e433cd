"""rayjob-operator: a kopf operator for KubeRay's ray.io/v1 RayJob and RayCluster."""

__version__ = "0.1.0"
