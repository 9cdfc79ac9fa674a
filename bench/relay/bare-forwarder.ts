import { connect, constants, createServer, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { authorizeAny, authorizeId } from '../../src/spiffe/tls/authorizer';
import { mtlsClientOptions } from '../../src/spiffe/tls/mtls-client';
import { MtlsServer } from '../../src/spiffe/tls/mtls-server';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { requireEnv, runChild } from './child-probe';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = constants;

/**
 * Child process: the floor for any Node hop. A bare node:http2 forwarder, mTLS on both
 * sides (SPIFFE-verified, per connection), that relays each stream to one pooled upstream
 * connection: request headers, request and response bytes piped (no gRPC parsing), response
 * headers and trailers forwarded, cancellation both ways. No identity mapping, no policy,
 * no log, no metrics. Upstream: BENCH_UPSTREAM_ADDRESS (host:port), BENCH_UPSTREAM_ID.
 */
async function main(): Promise<number> {
  const [host, port] = requireEnv('BENCH_UPSTREAM_ADDRESS').split(':') as [string, string];
  const source = await X509Source.create({ timeoutMs: 10_000 });
  const upstreamTls = mtlsClientOptions(source, authorizeId(requireEnv('BENCH_UPSTREAM_ID')));
  let upstream: ClientHttp2Session | undefined;
  const session = (): ClientHttp2Session => {
    if (upstream && !upstream.closed && !upstream.destroyed) return upstream;
    const s = connect(`https://${host}:${port}`, { createConnection: () => tlsConnect({ ...upstreamTls(), host, port: Number(port) }) });
    s.on('error', () => {});
    s.on('close', () => upstream === s && (upstream = undefined));
    return (upstream = s);
  };

  const listener = new MtlsServer(source, authorizeAny());
  const h2 = createServer({ settings: { maxConcurrentStreams: 1000 } });
  listener.on('connection', (socket) => h2.emit('connection', socket));
  h2.on('session', (s) => s.on('error', () => {}));
  h2.on('stream', (down: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const out: OutgoingHttpHeaders = withoutPseudo(headers);
    out[':method'] = headers[':method'];
    out[':scheme'] = 'https';
    out[':path'] = headers[':path'];
    out[':authority'] = `${host}:${port}`;
    const up = session().request(out);
    let trailers: OutgoingHttpHeaders | undefined;
    up.on('response', (h, flags) => {
      const response = withoutPseudo(h);
      response[':status'] = h[':status'];
      if (flags & NGHTTP2_FLAG_END_STREAM) return down.respond(response, { endStream: true }); // trailers-only
      down.respond(response, { waitForTrailers: true });
      up.pipe(down);
    });
    up.on('trailers', (t) => (trailers = withoutPseudo(t)));
    down.on('wantTrailers', () => down.sendTrailers(trailers ?? { 'grpc-status': '14', 'grpc-message': 'upstream ended without status' }));
    down.pipe(up);
    up.on('error', () => {});
    down.on('error', () => {});
    down.on('close', () => up.closed || up.close(NGHTTP2_CANCEL));
    up.on('close', () => down.closed || down.headersSent || down.close(up.rstCode || NGHTTP2_CANCEL));
  });
  return (await listener.listen(0, '127.0.0.1')).port;
}

function withoutPseudo(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const key in headers) if (key.charCodeAt(0) !== 0x3a) out[key] = headers[key];
  return out;
}

runChild(main);
