"""The compatibility contract with KubeRay: API names, label keys, finalizers, env names, ports.

Tests import these names instead of repeating the literals.
"""

from typing import Final

# --- API --------------------------------------------------------------------------------------------
GROUP: Final = "ray.io"
VERSION: Final = "v1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
RAYJOB_KIND: Final = "RayJob"
RAYJOB_PLURAL: Final = "rayjobs"
RAYCLUSTER_KIND: Final = "RayCluster"
RAYCLUSTER_PLURAL: Final = "rayclusters"

# --- Ownership and management -------------------------------------------------------------------------
MANAGER_KUBERAY: Final = "ray.io/kuberay-operator"
MANAGER_MULTIKUEUE: Final = "kueue.x-k8s.io/multikueue"
MANAGED_BY_VALUES: Final = (MANAGER_KUBERAY, MANAGER_MULTIKUEUE)
RAYJOB_FINALIZER: Final = "ray.io/rayjob-finalizer"
CREATED_BY_VALUE: Final = "kuberay-operator"
FIELD_MANAGER: Final = "rayjob-operator"
RAYJOB_CONTROLLER_NAME: Final = "rayjob-controller"
RAYCLUSTER_CONTROLLER_NAME: Final = "raycluster-controller"

# --- Labels ------------------------------------------------------------------------------------------
LABEL_CLUSTER: Final = "ray.io/cluster"
LABEL_NODE_TYPE: Final = "ray.io/node-type"
LABEL_GROUP: Final = "ray.io/group"
LABEL_IS_RAY_NODE: Final = "ray.io/is-ray-node"
LABEL_IDENTIFIER: Final = "ray.io/identifier"
LABEL_ORIGINATED_FROM_CR_NAME: Final = "ray.io/originated-from-cr-name"
LABEL_ORIGINATED_FROM_CRD: Final = "ray.io/originated-from-crd"
LABEL_SUBMISSION_MODE: Final = "ray.io/job-submission-mode"
LABEL_APP_NAME: Final = "app.kubernetes.io/name"
LABEL_APP_CREATED_BY: Final = "app.kubernetes.io/created-by"
LABEL_WORKER_REPLICA_INDEX: Final = "ray.io/worker-group-replica-index"
LABEL_WORKER_REPLICA_NAME: Final = "ray.io/worker-group-replica-name"
LABEL_REPLICA_HOST_INDEX: Final = "ray.io/replica-host-index"
LABEL_HEADLESS_WORKER_SVC: Final = "ray.io/headless-worker-svc"
APP_NAME_VALUE: Final = "kuberay"
NODE_TYPE_HEAD: Final = "head"
NODE_TYPE_WORKER: Final = "worker"
HEAD_GROUP_NAME: Final = "headgroup"

# Labels Kueue owns on a RayJob; they are never copied to children (a copy would make a child its own workload).
KUEUE_LABEL_PREFIX: Final = "kueue.x-k8s.io/"

# --- Annotations -------------------------------------------------------------------------------------
ANNOTATION_DISABLE_HEAD_RESTART: Final = "ray.io/disable-provisioned-head-restart"
ANNOTATION_OVERWRITE_CONTAINER_CMD: Final = "ray.io/overwrite-container-cmd"

# --- Names -------------------------------------------------------------------------------------------
MAX_RAYJOB_NAME_LENGTH: Final = 47  # 53 (cluster name limit) minus "-" and 5 random chars
RANDOM_SUFFIX_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_SUFFIX_LENGTH: Final = 5
HEAD_SERVICE_SUFFIX: Final = "-head-svc"
HEADLESS_SERVICE_SUFFIX: Final = "-headless"
SUBMITTER_CONTAINER_NAME: Final = "ray-job-submitter"
DEFAULT_CLUSTER_DOMAIN: Final = "cluster.local"

# --- Ports -------------------------------------------------------------------------------------------
PORT_GCS: Final = 6379
PORT_DASHBOARD: Final = 8265
PORT_CLIENT: Final = 10001
PORT_METRICS: Final = 8080
PORT_SERVE: Final = 8000
PORT_DASHBOARD_AGENT: Final = 52365
PORT_NAME_GCS: Final = "gcs-server"
PORT_NAME_DASHBOARD: Final = "dashboard"
PORT_NAME_CLIENT: Final = "client"
PORT_NAME_METRICS: Final = "metrics"
PORT_NAME_SERVE: Final = "serve"

# --- Submitter defaults (what Kueue assumes for the default submitter pod) ----------------------------
SUBMITTER_REQUESTS: Final = {"cpu": "500m", "memory": "200Mi"}
SUBMITTER_LIMITS: Final = {"cpu": "1", "memory": "1Gi"}
DEFAULT_SUBMITTER_BACKOFF_LIMIT: Final = 2
