import * as grpc from '@grpc/grpc-js';
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { grpcChannelCredentials } from '../../../src/spiffe/tls/grpc-credentials';
import { mtlsClientOptions } from '../../../src/spiffe/tls/mtls-client';
import { X509Source } from '../../../src/spiffe/workload/x509-source';
import { REGISTER_TS } from './gateway-process';

const GATEWAY_ID = 'spiffe://example.org/toolgate';
/** How many handshakes or stream openings are in progress at once. */
const BATCH = 50;

export interface IdleConnections {
  /** Connections that completed their handshake and stayed open. */
  opened: number;
  /** Connections closed before or right after their handshake (a connection cap). */
  refused: number;
}

export interface HeldStreams {
  /** Streams that answered their first message and stay open. */
  held: number;
  /** Streams that failed to open or to answer (a per-caller cap). */
  refused: number;
}

type Request = { op: 'idle'; count: number } | { op: 'streams'; count: number; connections: number } | { op: 'endStreams' } | { op: 'closeIdle' };

/**
 * One agent's connection burst, driven from a process of its own: thousands of TLS handshakes
 * and stream openings cost the client as much CPU as the gateway, and a well-behaved caller
 * measured in the same event loop would time the burster's stalls, not the gateway's. The
 * process runs at the lowest CPU priority (nice 19), as if it were on another machine: on the
 * two cores the suite has, it would otherwise take one from the gateway and the well-behaved
 * caller, and their latency would measure this machine's CPU contention rather than what the
 * gateway does with a crowd. The gateway still does all of its own handshake work.
 * The child gets the agent's SVID from the agent's own Workload API endpoint.
 */
export class ConnectionBurst {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.seq);
      this.waiting.delete(m.seq);
      if (m.error !== undefined) w?.reject(new Error(`burst: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`burst process exited (code ${code}, signal ${signal})`));
      this.waiting.clear();
    });
  }

  /**
   * Starts the burst process for the agent whose Workload API is `endpoint`, against `gateway`
   * (host:port); each held stream sends `request` once.
   */
  static start(endpoint: string, gateway: string, request: Buffer): ConnectionBurst {
    const child = fork(__filename, [], {
      env: { ...process.env, BURST_ENDPOINT: endpoint, BURST_GATEWAY: gateway, BURST_REQUEST_HEX: request.toString('hex') },
      execArgv: ['--require', REGISTER_TS],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    setPriority(child.pid!, 19);
    return new ConnectionBurst(child);
  }

  /** Opens `count` mutual-TLS HTTP/2 connections that then do nothing (no stream, no ping). */
  openIdleConnections(count: number): Promise<IdleConnections> {
    return this.ask({ op: 'idle', count }) as Promise<IdleConnections>;
  }

  /** Opens `count` bidi streams over `connections` connections, each answered once and then held still. */
  openHeldStreams(count: number, connections: number): Promise<HeldStreams> {
    return this.ask({ op: 'streams', count, connections }) as Promise<HeldStreams>;
  }

  /** Ends every held stream; resolves with their final statuses by name. */
  endHeldStreams(): Promise<Record<string, number>> {
    return this.ask({ op: 'endStreams' }) as Promise<Record<string, number>>;
  }

  /** Closes the idle connections and resolves once each is closed. */
  closeIdleConnections(): Promise<void> {
    return this.ask({ op: 'closeIdle' }) as Promise<void>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }

  private ask(request: Request): Promise<unknown> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.child.send({ seq, ...request });
    });
  }
}

/** The child's side: holds what it opened until told to let it go. */
async function serveBurst(): Promise<void> {
  const source = await X509Source.create({ address: process.env.BURST_ENDPOINT!, timeoutMs: 10_000 });
  const target = process.env.BURST_GATEWAY!;
  const port = Number(target.slice(target.lastIndexOf(':') + 1));
  const tls = mtlsClientOptions(source, authorizeId(GATEWAY_ID));
  const sessions: ClientHttp2Session[] = [];
  const clients: grpc.Client[] = [];
  const held: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
  const statuses: Array<Promise<grpc.status>> = [];

  async function idle(count: number): Promise<IdleConnections> {
    let refused = 0;
    for (let i = 0; i < count; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - i) }, async () => {
          const session = connect(`https://${target}`, {
            createConnection: () => tlsConnect({ ...tls(), host: '127.0.0.1', port, servername: 'gateway.invalid' }),
          });
          session.on('error', () => {});
          const opened = await new Promise<boolean>((resolve) => {
            session.once('connect', () => resolve(true));
            session.once('close', () => resolve(false));
          });
          if (opened) sessions.push(session);
          else refused++;
        }),
      );
    }
    return { opened: sessions.length, refused };
  }

  async function streams(count: number, connections: number): Promise<HeldStreams> {
    for (let i = 0; i < connections; i++) {
      clients.push(new grpc.Client(target, grpcChannelCredentials(source, authorizeId(GATEWAY_ID)), { 'grpc.use_local_subchannel_pool': 1 }));
    }
    const same = (b: Buffer): Buffer => b;
    const request = Buffer.from(process.env.BURST_REQUEST_HEX!, 'hex');
    let refused = 0;
    for (let i = 0; i < count; i += BATCH) {
      await Promise.all(
        Array.from({ length: Math.min(BATCH, count - i) }, async (_, j) => {
          const stream = clients[(i + j) % connections]!.makeBidiStreamRequest('/bench.v1.Echo/PingPong', same, same, new grpc.Metadata());
          const status = new Promise<grpc.status>((resolve) => stream.on('status', (s: grpc.StatusObject) => resolve(s.code)));
          stream.on('error', () => {});
          stream.on('data', () => {}); // keeps it flowing, so that its status comes when it ends
          const answered = await new Promise<boolean>((resolve) => {
            stream.once('data', () => resolve(true));
            void status.then(() => resolve(false));
            stream.write(request);
          });
          if (answered) {
            held.push(stream);
            statuses.push(status);
          } else refused++;
        }),
      );
    }
    return { held: held.length, refused };
  }

  async function endStreams(): Promise<Record<string, number>> {
    for (const stream of held) stream.end();
    const codes: Record<string, number> = {};
    for (const code of await Promise.all(statuses)) codes[grpc.status[code]!] = (codes[grpc.status[code]!] ?? 0) + 1;
    for (const client of clients) client.close();
    return codes;
  }

  async function closeIdle(): Promise<void> {
    await Promise.all(sessions.map((s) => new Promise<void>((resolve) => (s.closed || s.destroyed ? resolve() : s.close(() => resolve())))));
  }

  process.on('message', (m: { seq: number } & Request) => {
    const run = async (): Promise<unknown> => {
      switch (m.op) {
        case 'idle':
          return idle(m.count);
        case 'streams':
          return streams(m.count, m.connections);
        case 'endStreams':
          return endStreams();
        case 'closeIdle':
          return closeIdle();
      }
    };
    run().then(
      (result) => process.send!({ seq: m.seq, result }),
      (err: Error) => process.send!({ seq: m.seq, error: err.message }),
    );
  });
}

if (require.main === module) void serveBurst();
