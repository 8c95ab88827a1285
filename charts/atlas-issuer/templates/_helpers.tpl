{{/* Chart name, overridable. */}}
{{- define "atlas-issuer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources. Names are capped at 63 characters
because they end up in label values.
*/}}
{{- define "atlas-issuer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "atlas-issuer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "atlas-issuer.labels" -}}
helm.sh/chart: {{ include "atlas-issuer.chart" . }}
{{ include "atlas-issuer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cert-manager
{{- end }}

{{/* Labels that select the manager's pods; immutable once installed. */}}
{{- define "atlas-issuer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "atlas-issuer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "atlas-issuer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "atlas-issuer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "atlas-issuer.clusterResourceNamespace" -}}
{{- default .Release.Namespace .Values.clusterResourceNamespace }}
{{- end }}

{{/*
Namespaces whose Secrets the manager may read in least-privilege mode, as a
comma-separated list: secrets.namespaces plus the cluster resource
namespace, since AtlasClusterIssuers read their credentials there. Empty
when the mode is off.
*/}}
{{- define "atlas-issuer.secretNamespaces" -}}
{{- if .Values.secrets.namespaces }}
{{- append .Values.secrets.namespaces (include "atlas-issuer.clusterResourceNamespace" .) | uniq | join "," }}
{{- end }}
{{- end }}

{{- define "atlas-issuer.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
The name of the metrics port, which says its scheme.
*/}}
{{- define "atlas-issuer.metricsPortName" -}}
{{- if .Values.metrics.secure }}https-metrics{{ else }}http-metrics{{ end }}
{{- end }}
