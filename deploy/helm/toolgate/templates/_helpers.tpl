{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "toolgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "toolgate.fullname" -}}
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

{{- define "toolgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "toolgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "toolgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "toolgate.labels" -}}
helm.sh/chart: {{ include "toolgate.chart" . }}
{{ include "toolgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "toolgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "toolgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "toolgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "toolgate.policiesConfigMapName" -}}
{{- default (printf "%s-policies" (include "toolgate.fullname" .)) .Values.policies.existingConfigMap -}}
{{- end -}}

{{- define "toolgate.protosConfigMapName" -}}
{{- default (printf "%s-protos" (include "toolgate.fullname" .)) .Values.protos.existingConfigMap -}}
{{- end -}}

{{/* "true" when a protos ConfigMap is mounted. */}}
{{- define "toolgate.protosEnabled" -}}
{{- if or .Values.protos.existingConfigMap .Values.protos.files -}}true{{- end -}}
{{- end -}}

{{/* The folder the gateway config ConfigMap is mounted at (a folder, not a subPath, so that
     ConfigMap updates reach the pod and the gateway's watch sees the ..data swap). */}}
{{- define "toolgate.configDir" -}}/etc/toolgate/config{{- end -}}

{{/*
The Workload API socket, the ONE definition both the volume mount and SPIFFE_ENDPOINT_SOCKET
are built from: "toolgate.workloadApi.dir" is the mount path, "toolgate.workloadApi.socket"
the Workload API address inside it.
*/}}
{{- define "toolgate.workloadApi.dir" -}}
{{- .Values.workloadApi.mountPath | trimSuffix "/" -}}
{{- end -}}
{{- define "toolgate.workloadApi.socket" -}}
{{- printf "unix://%s/%s" (include "toolgate.workloadApi.dir" .) .Values.workloadApi.socketName -}}
{{- end -}}

{{/* The port of a "host:port" listen address ("0.0.0.0:8443", "[::]:8443"). */}}
{{- define "toolgate.portOf" -}}
{{- toString . | splitList ":" | last -}}
{{- end -}}

{{- define "toolgate.grpcPort" -}}
{{- include "toolgate.portOf" (default "0.0.0.0:8443" .Values.config.listen) -}}
{{- end -}}

{{/* The admin port; fails unless config.admin listens on all interfaces (probes, scrapes). */}}
{{- define "toolgate.adminPort" -}}
{{- $admin := .Values.config.admin -}}
{{- if not (kindIs "string" $admin) -}}
{{- fail "config.admin must be a host:port on all interfaces (0.0.0.0:PORT or [::]:PORT): the chart's probes and metrics use it" -}}
{{- end -}}
{{- if not (or (hasPrefix "0.0.0.0:" $admin) (hasPrefix "[::]:" $admin)) -}}
{{- fail (printf "config.admin %q must listen on all interfaces (0.0.0.0:PORT or [::]:PORT): the kubelet probes /healthz and /readyz on the pod IP, not on loopback" $admin) -}}
{{- end -}}
{{- include "toolgate.portOf" $admin -}}
{{- end -}}

{{/* Checks that cross values and config: each fails the render with the reason. */}}
{{- define "toolgate.validate" -}}
{{- $drain := 15 -}}
{{- if hasKey .Values.config "drainTimeoutSeconds" -}}
{{- $drain = .Values.config.drainTimeoutSeconds -}}
{{- end -}}
{{- if le (float64 .Values.terminationGracePeriodSeconds) (float64 $drain) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must exceed config.drainTimeoutSeconds (%v), or the kubelet kills the gateway in the middle of its drain" .Values.terminationGracePeriodSeconds $drain) -}}
{{- end -}}
{{- if ne (toString .Values.config.policies) (toString .Values.policies.mountPath) -}}
{{- fail (printf "config.policies (%v) must be policies.mountPath (%v), where the policies ConfigMap is mounted" .Values.config.policies .Values.policies.mountPath) -}}
{{- end -}}
{{- if and .Values.redis.enabled (not (or .Values.redis.url .Values.redis.existingSecret)) -}}
{{- fail "redis.enabled needs redis.url or redis.existingSecret" -}}
{{- end -}}
{{- end -}}
