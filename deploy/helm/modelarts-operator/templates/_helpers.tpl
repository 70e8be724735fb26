{{- define "modelarts-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelarts-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "modelarts-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelarts-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modelarts-operator.labels" -}}
{{ include "modelarts-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "modelarts-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "modelarts-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "modelarts-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "modelarts-operator.credentialsSecret" -}}
{{- if .Values.credentials.existingSecret -}}
{{- .Values.credentials.existingSecret -}}
{{- else if .Values.credentials.create -}}
{{- printf "%s-credentials" (include "modelarts-operator.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* What the operator does with its own objects: derived from its Kubernetes calls (see the README). */}}
{{- define "modelarts-operator.namespacedRules" -}}
- apiGroups: ["modelarts.operator.dev"]
  resources: ["notebooks", "resourcepools", "liteservers"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["modelarts.operator.dev"]
  resources: ["notebooks/status", "resourcepools/status", "liteservers/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}

{{- define "modelarts-operator.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "patch"]
{{- end -}}

{{- define "modelarts-operator.crdRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  resourceNames: ["notebooks.modelarts.operator.dev", "resourcepools.modelarts.operator.dev", "liteservers.modelarts.operator.dev"]
  verbs: ["get"]
{{- end -}}
