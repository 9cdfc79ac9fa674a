import * as grpc from '@grpc/grpc-js';
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { authorizeId } from '../../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../../src/spiffe/tls/mtls-client';
import { echoRequest, GATEWAY_ID, type Agent, type FaultDeployment } from './fault-deployment';

/** How many handshakes or stream openings are in progress at once. */
const BATCH = 50;

/**
 * Mutual-TLS HTTP/2 connections to the gateway that do nothing once established (no stream,
 * no ping): what a crowd of idle or abandoned agents leaves open. Returns the open sessions
 * and how many could not be opened (0 today; a connection cap would refuse some).
 */
export async function openIdleConnections(d: FaultDeployment, agent: Agent, count: number): Promise<{ sessions: ClientHttp2Session[]; refused: number }> {
  const tls = mtlsClientOptions(agent.source, authorizeId(GATEWAY_ID));
  const sessions: ClientHttp2Session[] = [];
  let refused = 0;
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, count - i) }, async () => {
        const session = connect(`https://${d.gateway.target}`, {
          createConnection: () => tlsConnect({ ...tls(), host: '127.0.0.1', port: d.gateway.port, servername: 'gateway.invalid' }),
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
  return { sessions, refused };
}

/** Closes the sessions and resolves once each is closed. */
export async function closeSessions(sessions: ClientHttp2Session[]): Promise<void> {
  await Promise.all(sessions.map((s) => new Promise<void>((resolve) => (s.closed || s.destroyed ? resolve() : s.close(() => resolve())))));
}

export interface HeldStreams {
  /** Streams that answered their first message and stay open. */
  streams: grpc.ClientDuplexStream<Buffer, Buffer>[];
  /** Streams that failed to open or to answer (0 today). */
  refused: number;
  /** Resolves with the streams' final statuses once each has been ended by the caller. */
  end(): Promise<Record<string, number>>;
}

/**
 * `count` bidi streams (bench.v1.Echo/PingPong) spread over `connections` connections of
 * `agent`, each sending one message, reading the answer, and then holding still: streams the
 * gateway keeps open with their upstream streams, but no traffic.
 */
export async function openHeldStreams(d: FaultDeployment, agent: Agent, count: number, connections: number): Promise<HeldStreams> {
  const clients = Array.from({ length: connections }, () => d.client(agent));
  const same = (b: Buffer): Buffer => b;
  const request = echoRequest('ok');
  const streams: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
  const statuses: Array<Promise<grpc.status>> = [];
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
          streams.push(stream);
          statuses.push(status);
        } else refused++;
      }),
    );
  }
  return {
    streams,
    refused,
    async end() {
      for (const stream of streams) stream.end();
      const codes: Record<string, number> = {};
      for (const code of await Promise.all(statuses)) codes[grpc.status[code]!] = (codes[grpc.status[code]!] ?? 0) + 1;
      for (const client of clients) client.close();
      return codes;
    },
  };
}
