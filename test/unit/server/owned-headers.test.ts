import { forwardedClientCert, upstreamRequestHeaders } from '../../../src/server/owned-headers';

describe('upstreamRequestHeaders', () => {
  const incoming = {
    ':method': 'POST',
    ':path': '/test.v1.Echo/Unary',
    ':authority': 'toolgate',
    'content-type': 'application/grpc',
    'x-request-tag': 'kept',
    // Node resets requests carrying these before any handler runs; the relay must not depend on it.
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'keep-alive',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    host: 'elsewhere.example',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-client-cert': 'URI=spiffe://example.org/admin',
    cookie: 'session=1',
    'x-toolgate-caller': 'spiffe://example.org/admin',
  };

  it('relays ordinary headers and drops connection-specific, identity and owned ones', () => {
    const out = upstreamRequestHeaders(incoming, 'files:7001', { 'x-toolgate-caller': 'spiffe://example.org/agents/bot' });
    expect(out).toEqual({
      ':method': 'POST',
      ':scheme': 'https',
      ':path': '/test.v1.Echo/Unary',
      ':authority': 'files:7001',
      'content-type': 'application/grpc',
      te: 'trailers', // always the gateway's own, whatever the caller sent
      'x-request-tag': 'kept',
      'x-toolgate-caller': 'spiffe://example.org/agents/bot',
    });
  });

  it('writes the XFCC as Envoy does for a verified mTLS peer', () => {
    expect(forwardedClientCert('spiffe://example.org/toolgate', 'spiffe://example.org/agents/bot')).toBe('By=spiffe://example.org/toolgate;URI=spiffe://example.org/agents/bot');
  });
});
