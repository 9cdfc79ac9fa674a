import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errorCode } from '../errors/unknown-error';
import { ApprovalError } from './approval-error';

/**
 * The keys approval webhooks are signed with, read from `approvals.webhook.secretFile`: one
 * or more lines `whsec_<base64>` (Standard Webhooks' serialization of a symmetric secret),
 * each 24 to 64 random bytes. Every key signs each message (the `webhook-signature` header
 * lists one `v1,<base64>` per key), so that a key is rotated without a gap: add the new line,
 * reload, move the receiver to it, remove the old line, reload.
 */
export class WebhookSecrets {
  private constructor(private readonly keys: readonly Buffer[]) {}

  /** Reads and checks the file; throws `ApprovalError` `ERR_APPROVAL_WEBHOOK_SECRET`, naming the file and line, never a key. */
  static read(path: string): WebhookSecrets {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw secretError(`cannot read ${path}: ${errorCode(err) ?? 'error'}`);
    }
    return WebhookSecrets.parse(text, path);
  }

  /** The file's content as `read` checks it; `source` names it in errors. */
  static parse(text: string, source = 'the webhook secret'): WebhookSecrets {
    const keys: Buffer[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(line);
      const key = match ? Buffer.from(match[1]!, 'base64') : undefined;
      if (key === undefined || key.length < 24 || key.length > 64) {
        throw secretError(`${source}, line ${i + 1}: not whsec_ followed by the base64 of 24 to 64 random bytes`);
      }
      keys.push(key);
    });
    if (keys.length === 0) throw secretError(`${source} holds no whsec_ key`);
    return new WebhookSecrets(keys);
  }

  /** How many keys sign each message. */
  get size(): number {
    return this.keys.length;
  }

  /**
   * The `webhook-signature` header: for each key, `v1,` and the base64 HMAC-SHA256 of
   * `<webhook-id>.<webhook-timestamp>.<body>`, space-separated.
   */
  sign(id: string, timestamp: number, body: Buffer): string {
    return this.keys
      .map((key) => {
        const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
        return `v1,${mac}`;
      })
      .join(' ');
  }
}

function secretError(message: string): ApprovalError {
  return new ApprovalError('ERR_APPROVAL_WEBHOOK_SECRET', message);
}
