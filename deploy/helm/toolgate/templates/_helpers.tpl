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

{{/* The token listener's port (config.workloadTokens.listen); empty without workloadTokens. */}}
{{- define "toolgate.tokensPort" -}}
{{- with ((.Values.config).workloadTokens | default dict).listen -}}
{{- include "toolgate.portOf" . -}}
{{- end -}}
{{- end -}}

{{/* The approvers' console's port (config.approvals.console.listen); empty without the console. */}}
{{- define "toolgate.approvalsPort" -}}
{{- with (((.Values.config).approvals | default dict).console | default dict).listen -}}
{{- include "toolgate.portOf" . -}}
{{- end -}}
{{- end -}}

{{/* The env var the chart passes the Redis URL in (redis.enabled). */}}
{{- define "toolgate.redisUrlEnv" -}}TOOLGATE_REDIS_URL{{- end -}}

{{/* Where the signing key Secret's entry is projected: INTO the config folder, which the
     gateway watches (reload.watch), so that a rotated Secret (kubelet swaps ..data) reloads
     the key with no restart and no SIGHUP. */}}
{{- define "toolgate.signingKeyFile" -}}
{{- printf "%s/signing-key.json" (include "toolgate.configDir" .) -}}
{{- end -}}

{{/* Where the checkpoint key Secret is mounted: its own read-only volume, outside the watched
     config folder (decisionLog is restart-only: the key is read once, at start). */}}
{{- define "toolgate.checkpointKeyDir" -}}/var/run/secrets/toolgate-checkpoint{{- end -}}
{{- define "toolgate.checkpointKeyFile" -}}
{{- printf "%s/checkpoint.key" (include "toolgate.checkpointKeyDir" .) -}}
{{- end -}}

{{/*
The config file the ConfigMap holds: .Values.config as it is, plus what the chart wires
itself so that it cannot be forgotten or disagree with the pod spec:
- signingKey.existingSecret: credentials.signingKeyFile = the projected key file;
- checkpointKey.existingSecret: decisionLog.checkpointKeyFile = the mounted key file;
- redis.enabled: state.redis.urlEnv = TOOLGATE_REDIS_URL (the env var the chart sets).
A conflicting value in config fails the render.
*/}}
{{- define "toolgate.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $credentials := $config.credentials | default dict -}}
{{- $keyFile := include "toolgate.signingKeyFile" . -}}
{{- if .Values.signingKey.existingSecret -}}
{{- if and $credentials.signingKeyFile (ne (toString $credentials.signingKeyFile) $keyFile) -}}
{{- fail (printf "config.credentials.signingKeyFile (%v) conflicts with signingKey.existingSecret, which the chart mounts at %s: leave config.credentials.signingKeyFile out" $credentials.signingKeyFile $keyFile) -}}
{{- end -}}
{{- $_ := set $credentials "signingKeyFile" $keyFile -}}
{{- $_ := set $config "credentials" $credentials -}}
{{- else if eq (toString $credentials.signingKeyFile) $keyFile -}}
{{- fail (printf "config.credentials.signingKeyFile is %s, the chart's signing key mount, but signingKey.existingSecret is empty: set it" $keyFile) -}}
{{- end -}}
{{- $decisionLog := $config.decisionLog | default dict -}}
{{- $checkpointKeyFile := include "toolgate.checkpointKeyFile" . -}}
{{- if .Values.checkpointKey.existingSecret -}}
{{- if and $decisionLog.checkpointKeyFile (ne (toString $decisionLog.checkpointKeyFile) $checkpointKeyFile) -}}
{{- fail (printf "config.decisionLog.checkpointKeyFile (%v) conflicts with checkpointKey.existingSecret, which the chart mounts at %s: leave config.decisionLog.checkpointKeyFile out" $decisionLog.checkpointKeyFile $checkpointKeyFile) -}}
{{- end -}}
{{- $_ := set $decisionLog "checkpointKeyFile" $checkpointKeyFile -}}
{{- $_ := set $config "decisionLog" $decisionLog -}}
{{- else if eq (toString $decisionLog.checkpointKeyFile) $checkpointKeyFile -}}
{{- fail (printf "config.decisionLog.checkpointKeyFile is %s, the chart's checkpoint key mount, but checkpointKey.existingSecret is empty: set it" $checkpointKeyFile) -}}
{{- end -}}
{{- if .Values.redis.enabled -}}
{{- $state := $config.state | default dict -}}
{{- $redis := $state.redis | default dict -}}
{{- $env := include "toolgate.redisUrlEnv" . -}}
{{- if $redis.url -}}
{{- fail "config.state.redis.url and redis.enabled both give the Redis URL: leave config.state.redis.url out (the chart sets config.state.redis.urlEnv)" -}}
{{- end -}}
{{- if and $redis.urlEnv (ne (toString $redis.urlEnv) $env) -}}
{{- fail (printf "config.state.redis.urlEnv (%v) conflicts with redis.enabled, which passes the URL as $%s: leave config.state.redis.urlEnv out" $redis.urlEnv $env) -}}
{{- end -}}
{{- $_ := set $redis "urlEnv" $env -}}
{{- $_ := set $state "redis" $redis -}}
{{- $_ := set $config "state" $state -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* "true" when tasks are shared across replicas: Redis state and a shared signing key. */}}
{{- define "toolgate.sharedState" -}}
{{- $config := include "toolgate.config" . | fromYaml -}}
{{- $hasRedis := ((($config.state | default dict).redis) | default dict) -}}
{{- $hasKey := (($config.credentials | default dict).signingKeyFile) -}}
{{- if and $hasRedis $hasKey -}}true{{- end -}}
{{- end -}}

{{/* "true" when more than one gateway pod may run (replicaCount > 1, or the HPA). */}}
{{- define "toolgate.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) -}}true{{- end -}}
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
{{- if and .Values.signingKey.existingSecret (not .Values.signingKey.existingSecretKey) -}}
{{- fail "signingKey.existingSecret needs signingKey.existingSecretKey (the Secret's key holding the JWK)" -}}
{{- end -}}
{{- if and .Values.checkpointKey.existingSecret (not .Values.checkpointKey.existingSecretKey) -}}
{{- fail "checkpointKey.existingSecret needs checkpointKey.existingSecretKey (the Secret's key holding the signer key)" -}}
{{- end -}}
{{- with include "toolgate.tokensPort" . -}}
{{- if or (eq . (include "toolgate.grpcPort" $)) (eq . (include "toolgate.adminPort" $)) -}}
{{- fail (printf "config.workloadTokens.listen port %s must differ from the gRPC (config.listen) and admin (config.admin) ports" .) -}}
{{- end -}}
{{- end -}}
{{- with include "toolgate.approvalsPort" . -}}
{{- if or (eq . (include "toolgate.grpcPort" $)) (eq . (include "toolgate.adminPort" $)) (eq . (include "toolgate.tokensPort" $)) -}}
{{- fail (printf "config.approvals.console.listen port %s must differ from the gRPC, admin and token listeners' ports" .) -}}
{{- end -}}
{{- end -}}
{{- $_ := include "toolgate.config" . -}}
{{- end -}}
