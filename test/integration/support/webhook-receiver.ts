import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got: its headers and its exact body bytes. */
export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Answers it (a hanging receiver's tests answer late, or never). */
  readonly respond: (status: number) => void;
  /** Whether it has been answered, or its connection closed. */
  readonly settled: () => boolean;
}

/**
 * A webhook receiver on a real loopback HTTP server: each request is kept, and answered by
 * `answer` (a status now, or `hang`: left open until the test answers it or closes the server).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  readonly #waiters: (() => void)[] = [];
  readonly #open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(answer: (index: number) => number | 'hang' = () => 204): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const self = receiver!;
        self.#open.add(res);
        res.once('close', () => self.#open.delete(res));
        const respond = (status: number) => {
          if (!res.writableEnded) res.writeHead(status).end();
        };
        const index = self.received.length;
        self.received.push({ headers: req.headers, body: Buffer.concat(chunks), respond, settled: () => res.writableEnded || res.destroyed || res.socket === null });
        const status = answer(index);
        if (status !== 'hang') respond(status);
        self.#waiters.splice(0).forEach((wake) => wake());
      });
    });
    // Port 0, read back: never a port another worker could take meanwhile.
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/approvals`);
    return receiver;
  }

  /** Resolves once `count` requests have arrived. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.received.length} webhook requests arrived, not ${count}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * A receiver's check, as docs/approvals.md ("Webhook") tells one to write it, with nothing of
 * toolgate's: Standard Webhooks' HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<raw
 * body>` with the key `whsec_<base64>` decodes to, any `v1,` signature of the header
 * matching in constant time, and the timestamp within 5 minutes of the receiver's clock.
 */
export function verifyWebhook(secret: string, headers: IncomingHttpHeaders, rawBody: Buffer, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^[0-9]+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
