import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART, CHECKPOINT_KEY_FILE, defaultValues, isMap, leafPaths, REDIS_URL_ENV, SIGNING_KEY_FILE } from './chart';

/*
 * No Helm binary here, so the templates are checked statically:
 *
 * - `.Values` paths. The extractor is a regex over every template for `.Values.a.b.c`
 *   (`$.Values...` included). Limits, by design of the templates rather than of the
 *   extractor: inside `with .Values.x` / `range ... := .Values.x` the templates only use the
 *   whole `.` (toYaml, quote) or the range variables, never `.y` relative to it, so using
 *   `.Values.x` counts as using every value under x (that is how `config`, passed to toYaml
 *   whole, covers the config file's keys). `index .Values "k"`, `.Values` passed whole to a
 *   helper, or `tpl` strings would escape the extractor; the templates use none of them, and
 *   the test below fails on `with` blocks reading a relative `.field`.
 * - Go-template delimiters and blocks balance, and the static YAML skeleton of each manifest
 *   (template actions stripped crudely) parses.
 */

const TEMPLATES = join(CHART, 'templates');
const templateFiles = readdirSync(TEMPLATES).sort();
const sources = new Map(templateFiles.map((f) => [f, readFileSync(join(TEMPLATES, f), 'utf8')]));

function valuePathsUsed(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const [file, text] of sources) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = m[1]!.slice(1);
      used.set(path, [...(used.get(path) ?? []), file]);
    }
  }
  return used;
}

function lookup(values: unknown, path: string[]): boolean {
  let node = values;
  for (const key of path) {
    if (!isMap(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

describe('chart templates', () => {
  const values = defaultValues();
  const used = valuePathsUsed();

  it('only use .Values paths that values.yaml defines', () => {
    const missing = [...used].filter(([path]) => !lookup(values, path.split('.'))).map(([path, files]) => `${path} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('use every value values.yaml defines', () => {
    const usedPaths = [...used.keys()];
    const unused = leafPaths(values)
      .map((p) => p.join('.'))
      .filter((leaf) => !usedPaths.some((u) => leaf === u || leaf.startsWith(`${u}.`)));
    expect(unused).toEqual([]);
  });

  it('documents every value with a ## @param comment', () => {
    const text = readFileSync(join(CHART, 'values.yaml'), 'utf8');
    const documented = [...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]!);
    const undocumented = leafPaths(values)
      .map((p) => p.join('.'))
      .filter((leaf) => !documented.some((d) => leaf === d || leaf.startsWith(`${d}.`)));
    expect(undocumented).toEqual([]);
    const stale = documented.filter((d) => !lookup(values, d.split('.')));
    expect(stale).toEqual([]);
  });

  it.each(templateFiles)('%s: balanced {{ }} and blocks, no relative field inside a with on .Values', (file) => {
    const text = sources.get(file)!;
    expect(text.split('{{').length).toBe(text.split('}}').length);
    const actions = [...text.matchAll(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g)].map((m) => m[1]!);
    const opens = actions.filter((a) => /^(if|with|range|define|block)\b/.test(a)).length;
    const ends = actions.filter((a) => /^end\b/.test(a)).length;
    expect(ends).toBe(opens);
    // Inside `with .Values...`, only `.` itself may be read (see the limits above).
    let depth = 0;
    const withValues: number[] = [];
    for (const a of actions) {
      if (/^(if|with|range|define|block)\b/.test(a)) {
        depth += 1;
        if (/^with\s+\$?\.Values\./.test(a)) withValues.push(depth);
      } else if (/^end\b/.test(a)) {
        if (withValues.at(-1) === depth) withValues.pop();
        depth -= 1;
      } else if (withValues.length > 0) {
        expect(a).not.toMatch(/(^|[\s(|])\.[A-Za-z]/);
      }
    }
  });

  it.each(templateFiles.filter((f) => f.endsWith('.yaml')))('%s: its YAML skeleton parses', (file) => {
    // Lines that are only template actions go; inline actions become a placeholder scalar
    // (numbered: both branches of an if may hold the same key).
    let n = 0;
    const skeleton = sources
      .get(file)!
      .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
      .split('\n')
      .filter((line) => !/^\s*\{\{.*\}\}\s*$/.test(line))
      .map((line) => line.replace(/\{\{.*?\}\}/g, () => `X${(n += 1)}`))
      .join('\n');
    for (const doc of parseAllDocuments(skeleton)) expect(doc.errors.map((e) => e.message)).toEqual([]);
  });

  it('rolls the pods on a config change but not on a policy change (hot reload)', () => {
    const deployment = sources.get('deployment.yaml')!;
    expect(deployment).toMatch(/checksum\/config: \{\{ include \(print \$\.Template\.BasePath "\/configmap-config\.yaml"\) \. \| sha256sum \}\}/);
    expect(deployment).not.toMatch(/checksum\/policies|configmap-policies\.yaml/);
  });

  it('renders the config from .Values.config as it is, plus the signing key and Redis wiring', () => {
    expect(sources.get('configmap-config.yaml')).toMatch(/toolgate\.yaml: \|\n\s+\{\{- include "toolgate\.config" \. \| nindent 4 \}\}/);
    const helper = sources.get('_helpers.tpl')!.match(/define "toolgate\.config" -\}\}([\s\S]*?)\{\{- end -\}\}\n\n/)![1]!;
    expect(helper).toContain('$config := deepCopy .Values.config');
    expect(helper).toContain('set $credentials "signingKeyFile" $keyFile');
    expect(helper).toContain('set $redis "urlEnv" $env');
    expect(helper).toMatch(/toYaml \$config -\}\}\s*$/);
    // The values-config test's chartConfig mirrors it with the same path and env var.
    expect(sources.get('_helpers.tpl')).toContain(`define "toolgate.signingKeyFile" -}}\n{{- printf "%s/${basename(SIGNING_KEY_FILE)}" (include "toolgate.configDir" .)`);
    expect(sources.get('_helpers.tpl')).toContain(`define "toolgate.redisUrlEnv" -}}${REDIS_URL_ENV}{{- end -}}`);
  });

  it('projects the signing key Secret into the watched config folder (rotation reloads it)', () => {
    const deployment = sources.get('deployment.yaml')!;
    expect(deployment).toMatch(
      /projected:\n\s+sources:\n\s+- configMap:\n\s+name: \{\{ include "toolgate\.fullname" \. \}\}-config\n\s+- secret:\n\s+name: \{\{ \.Values\.signingKey\.existingSecret \}\}\n\s+items:\n\s+- key: \{\{ \.Values\.signingKey\.existingSecretKey \}\}\n\s+path: \{\{ include "toolgate\.signingKeyFile" \. \| base \}\}/,
    );
    expect(SIGNING_KEY_FILE.startsWith('/etc/toolgate/config/')).toBe(true);
    // Not a subPath mount: a subPath never sees a Secret update.
    expect(deployment).not.toMatch(/subPath/);
    expect(deployment).toMatch(/- name: \{\{ include "toolgate\.redisUrlEnv" \. \}\}\n\s+\{\{- if \.Values\.redis\.existingSecret \}\}\n\s+valueFrom:\n\s+secretKeyRef:/);
  });

  it('mounts the checkpoint key Secret read-only outside the watched config folder, and sets decisionLog.checkpointKeyFile to it', () => {
    const helpers = sources.get('_helpers.tpl')!;
    const helper = helpers.match(/define "toolgate\.config" -\}\}([\s\S]*?)\{\{- end -\}\}\n\n/)![1]!;
    expect(helper).toContain('set $decisionLog "checkpointKeyFile" $checkpointKeyFile');
    expect(helper).toContain('fail (printf "config.decisionLog.checkpointKeyFile (%v) conflicts with checkpointKey.existingSecret');
    // The values-config test's chartConfig mirrors it with the same path.
    expect(helpers).toContain(`define "toolgate.checkpointKeyDir" -}}${dirname(CHECKPOINT_KEY_FILE)}{{- end -}}`);
    expect(helpers).toContain(`{{- printf "%s/${basename(CHECKPOINT_KEY_FILE)}" (include "toolgate.checkpointKeyDir" .) -}}`);
    expect(helpers).toContain('if and .Values.checkpointKey.existingSecret (not .Values.checkpointKey.existingSecretKey)');
    // The key is read once, at start (decisionLog is restart-only): not in the folder whose change reloads.
    expect(CHECKPOINT_KEY_FILE.startsWith('/etc/toolgate/config/')).toBe(false);
    const deployment = sources.get('deployment.yaml')!;
    expect(deployment).toMatch(
      /\{\{- if \.Values\.checkpointKey\.existingSecret \}\}\n\s+- name: checkpoint-key\n\s+mountPath: \{\{ include "toolgate\.checkpointKeyDir" \. \}\}\n\s+readOnly: true\n\s+\{\{- end \}\}/,
    );
    expect(deployment).toMatch(
      /- name: checkpoint-key\n\s+secret:\n\s+secretName: \{\{ \.Values\.checkpointKey\.existingSecret \}\}\n\s+items:\n\s+- key: \{\{ \.Values\.checkpointKey\.existingSecretKey \}\}\n\s+path: \{\{ include "toolgate\.checkpointKeyFile" \. \| base \}\}\n\s+mode: 0440/,
    );
  });

  it('exposes the token listener (config.workloadTokens) on the pod, the Service and the NetworkPolicy', () => {
    expect(sources.get('_helpers.tpl')).toMatch(/define "toolgate\.tokensPort"[\s\S]*?\.workloadTokens \| default dict\)\.listen/);
    expect(sources.get('deployment.yaml')).toMatch(/\{\{- with include "toolgate\.tokensPort" \. \}\}[\s\S]*?- name: tokens\n\s+containerPort: \{\{ \. \}\}/);
    expect(sources.get('service.yaml')).toMatch(
      /include "toolgate\.tokensPort" \.\) \.Values\.service\.tokensPort[\s\S]*?- name: tokens\n\s+port: \{\{ \.Values\.service\.tokensPort \}\}\n\s+targetPort: tokens/,
    );
    expect(sources.get('networkpolicy.yaml')).toMatch(/if include "toolgate\.tokensPort" \.[\s\S]*?- port: tokens[\s\S]*?\.Values\.networkPolicy\.tokensFrom/);
  });

  it("exposes the approvers' console (config.approvals.console) on the pod, the Service and the NetworkPolicy, on a port of its own", () => {
    expect(sources.get('_helpers.tpl')).toMatch(/define "toolgate\.approvalsPort"[\s\S]*?\.console \| default dict\)\.listen/);
    expect(sources.get('_helpers.tpl')).toMatch(/with include "toolgate\.approvalsPort" \. -\}\}\n\{\{- if or \(eq \. \(include "toolgate\.grpcPort" \$\)\)[\s\S]*?fail/);
    expect(sources.get('deployment.yaml')).toMatch(/\{\{- with include "toolgate\.approvalsPort" \. \}\}[\s\S]*?- name: approvals\n\s+containerPort: \{\{ \. \}\}/);
    expect(sources.get('service.yaml')).toMatch(
      /include "toolgate\.approvalsPort" \.\) \.Values\.service\.approvalsPort[\s\S]*?- name: approvals\n\s+port: \{\{ \.Values\.service\.approvalsPort \}\}\n\s+targetPort: approvals/,
    );
    expect(sources.get('networkpolicy.yaml')).toMatch(/if include "toolgate\.approvalsPort" \.[\s\S]*?- port: approvals[\s\S]*?\.Values\.networkPolicy\.approvalsFrom/);
  });

  it('declares service.appProtocol (default https: TLS carrying gRPC and MCP over h2 or HTTP/1.1) on the gRPC and token ports, none when empty', () => {
    expect(values.service).toMatchObject({ appProtocol: 'https' });
    const service = sources.get('service.yaml')!;
    for (const port of ['grpc', 'tokens']) {
      expect(service).toMatch(
        new RegExp(String.raw`- name: ${port}\n[\s\S]*?protocol: TCP\n\s+\{\{- with \.Values\.service\.appProtocol \}\}\n\s+appProtocol: \{\{ \. \}\}\n\s+\{\{- end \}\}`),
      );
    }
    expect(service).not.toContain('appProtocol: grpc');
  });

  it('warns in NOTES.txt when several replicas run without Redis and a shared signing key', () => {
    const notes = sources.get('NOTES.txt')!;
    expect(notes).toContain('if and (include "toolgate.multiReplica" .) (not (include "toolgate.sharedState" .))');
    expect(sources.get('_helpers.tpl')).toMatch(/define "toolgate\.multiReplica"[\s\S]*?\.Values\.autoscaling\.enabled[\s\S]*?\.Values\.replicaCount/);
  });

  it('feeds the Workload API mount and SPIFFE_ENDPOINT_SOCKET from one helper', () => {
    const deployment = sources.get('deployment.yaml')!;
    expect(deployment).toContain('value: {{ include "toolgate.workloadApi.socket" . | quote }}');
    expect(deployment).toContain('mountPath: {{ include "toolgate.workloadApi.dir" . }}');
    expect(sources.get('_helpers.tpl')).toMatch(/define "toolgate\.workloadApi\.socket"[\s\S]*include "toolgate\.workloadApi\.dir"/);
  });

  it('hardens the pod by default', () => {
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(values.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(values.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    expect(values.workloadApi).toMatchObject({ type: 'csi', csiDriver: 'csi.spiffe.io' });
    expect(sources.get('deployment.yaml')).toMatch(/csi:\n\s+driver: \{\{ \.Values\.workloadApi\.csiDriver \}\}\n\s+readOnly: true/);
  });
});
