import { InvalidValueError } from '../errors/invalid-value-error';
import { isLoopbackHost } from '../net/loopback-host';
import { DEFAULTS } from './defaults';
import { existingFile } from './file-paths';
import type { ApprovalWebhookConfig } from './gateway-config';
import type { IssueList } from './issue-list';
import { asRecord, asString } from './raw-value';

/** `approvals.webhook` (the schema has checked its shape): the URL and the secret file checked; undefined when absent or wrong. */
export function resolveApprovalWebhook(value: unknown, baseDir: string, issues: IssueList): ApprovalWebhookConfig | undefined {
  if (value == null) return undefined;
  const raw = asRecord(value);
  const path = ['approvals', 'webhook'];
  const urlText = asString(raw.url);
  const secretPath = asString(raw.secretFile);
  const url = urlText === undefined ? undefined : issues.check([...path, 'url'], undefined, () => webhookUrl(urlText));
  const secretFile = secretPath === undefined ? undefined : issues.check([...path, 'secretFile'], undefined, () => existingFile(secretPath, baseDir));
  if (url === undefined || secretFile === undefined) return undefined;
  return {
    url,
    secretFile,
    timeoutSeconds: (raw.timeoutSeconds as number | undefined) ?? DEFAULTS.approvalWebhookTimeoutSeconds,
    maxAttempts: (raw.maxAttempts as number | undefined) ?? DEFAULTS.approvalWebhookMaxAttempts,
    maxQueued: (raw.maxQueued as number | undefined) ?? DEFAULTS.approvalWebhookMaxQueued,
  };
}

/**
 * The receiver's URL: https, or http to a loopback host only, the rule of MCP upstream URLs
 * (plain http elsewhere could be read and changed on the way). The messages name the URL's
 * parts, never the URL: its path may be the receiver's secret (a chat webhook's).
 */
function webhookUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidValueError('not a URL');
  }
  if (url.username !== '' || url.password !== '') throw new InvalidValueError('must not hold credentials');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') throw new InvalidValueError(`http is allowed to a loopback host only (127.0.0.0/8, [::1], localhost), not ${url.hostname}: use https`);
  throw new InvalidValueError(`must be https, or http to a loopback host, not ${url.protocol.replace(/:$/, '')}`);
}
