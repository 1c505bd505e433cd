{{/* Name of the chart, overridable. */}}
{{- define "rayjob-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the release's objects: <release>-<chart>, or the release name if it contains the chart name. */}}
{{- define "rayjob-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rayjob-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rayjob-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "rayjob-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rayjob-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "rayjob-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rayjob-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "rayjob-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "rayjob-operator.submitterImage" -}}
{{- printf "%s:%s" .Values.submitterImage.repository (default .Chart.AppVersion .Values.submitterImage.tag) -}}
{{- end -}}

{{/* "true" when any watched namespace is a pattern (glob or negation): exact names only can use Roles. */}}
{{- define "rayjob-operator.hasPatterns" -}}
{{- $patterns := false -}}
{{- range .Values.watchNamespaces -}}
{{- if regexMatch "[*?\\[!,]" . -}}{{- $patterns = true -}}{{- end -}}
{{- end -}}
{{- $patterns -}}
{{- end -}}

{{/* "true" when the operator needs cluster-wide rights: every namespace, or namespace patterns. */}}
{{- define "rayjob-operator.clusterScoped" -}}
{{- or (empty .Values.watchNamespaces) (eq (include "rayjob-operator.hasPatterns" .) "true") -}}
{{- end -}}

{{/*
The operator's rights: exactly what kopf and the reconcilers call (operator/rayjob_operator/k8s,
runtime, reconcilers, main.py). "framework:" rules serve kopf's watches (list+watch of every kind
the operator observes; kopf runs --standalone with event posting disabled, so it needs nothing
else). "application:" rules serve the reconcilers' reads and writes.
*/}}
{{- define "rayjob-operator.rules" -}}
# framework: kopf lists and watches the custom resources it serves.
- apiGroups: ["ray.io"]
  resources: ["rayjobs", "rayclusters"]
  verbs: ["list", "watch"]
# framework: kopf lists and watches the pods and Services the operator made
# (label selector app.kubernetes.io/created-by=kuberay-operator).
- apiGroups: [""]
  resources: ["pods", "services"]
  verbs: ["list", "watch"]
# framework: kopf lists and watches the submitter Jobs (same label selector).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch"]
{{- if eq (include "rayjob-operator.hasPatterns" .) "true" }}
# framework: with namespace patterns kopf lists and watches namespaces to know which ones match.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
# application: RayJob reconciler: finalizer ray.io/rayjob-finalizer (patch), DeleteSelf (delete).
- apiGroups: ["ray.io"]
  resources: ["rayjobs"]
  verbs: ["get", "patch", "delete"]
# application: both reconcilers write the status subresource (a full update).
- apiGroups: ["ray.io"]
  resources: ["rayjobs/status", "rayclusters/status"]
  verbs: ["update"]
# application: blockOwnerDeletion on children needs update of the owner's finalizers
# (OwnerReferencesPermissionEnforcement admission).
- apiGroups: ["ray.io"]
  resources: ["rayjobs/finalizers", "rayclusters/finalizers"]
  verbs: ["update"]
# application: RayJob reconciler: creates its RayCluster (get when it exists already), suspends its
# workers (DeleteWorkers, patch) and deletes it (shutdown, retry, suspend, DeleteCluster).
- apiGroups: ["ray.io"]
  resources: ["rayclusters"]
  verbs: ["get", "create", "patch", "delete"]
# application: RayCluster reconciler: head and worker pods. get and patch are not used by the operator
# itself: it may only grant the autoscaler's Role (below) what it holds (RBAC escalation prevention).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["create", "delete", "get", "patch"]
# application: granted to the autoscaler's Role (in-place pod resize), so held by the operator.
- apiGroups: [""]
  resources: ["pods/resize"]
  verbs: ["patch"]
# application: RayCluster reconciler, enableInTreeAutoscaling: the autoscaler's ServiceAccount, Role and
# RoleBinding (get: a ServiceAccount named in the head template must exist).
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
# application: the autoscaler's Role (pods get/list/watch/patch, pods/resize patch, rayclusters get/patch)
# and its RoleBinding to the ServiceAccount.
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["create"]
# application: head Services (get when one exists already; update re-points <rayjob>-head-svc after a retry).
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "update"]
# application: RayJob reconciler: the submitter Job (get when it exists already).
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create", "delete"]
# application: Events about RayJobs and RayClusters (events.k8s.io/v1).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
# application: the driver log kept in a ConfigMap after the cluster is gone.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "update"]
# application: the Ray auth token of clusters with token authentication (create: the Secret the
# RayCluster reconciler generates when authOptions.secretName is not set).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"]
{{- end -}}

{{/* One env var; numbers keep their form (no 1e+06). */}}
{{- define "rayjob-operator.env" -}}
- name: {{ index . 0 }}
  value: {{ index . 1 | toString | quote }}
{{- end -}}
