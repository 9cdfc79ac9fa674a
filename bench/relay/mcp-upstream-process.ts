import * as http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { authorizeOneOf } from '../../src/spiffe/tls/authorizer';
import { MtlsServer } from '../../src/spiffe/tls/mtls-server';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { requireEnv, runChild } from './child-probe';
import { MCP_ECHO_TOOL } from './deployment';

/**
 * Child process: the MCP upstream of the MCP workload. An official SDK `McpServer` on
 * Streamable HTTP (stateless: a server and transport per request, as the SDK's stateless
 * example does; JSON answers, no SSE), over SPIFFE mTLS (HTTP/1.1), accepting only the load
 * client (direct) and the gateway (BENCH_UPSTREAM_PEERS). Its Workload API endpoint is
 * SPIFFE_ENDPOINT_SOCKET.
 */
async function main(): Promise<number> {
  const answer = 'x'.repeat(Number(requireEnv('BENCH_PAYLOAD_BYTES')));
  const peers = requireEnv('BENCH_UPSTREAM_PEERS').split(',');
  const source = await X509Source.create({ timeoutMs: 10_000 });
  const server = http.createServer((req, res) => {
    const mcp = new McpServer({ name: 'bench-echo', version: '1.0.0' });
    mcp.registerTool(MCP_ECHO_TOOL, { description: 'Answers a fixed text', inputSchema: { text: z.string() } }, () => ({ content: [{ type: 'text', text: answer }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void Promise.allSettled([transport.close(), mcp.close()]));
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  const front = new MtlsServer(source, authorizeOneOf(...peers), { alpnProtocols: ['http/1.1'] });
  front.on('connection', (socket) => server.emit('connection', socket));
  return (await front.listen(0, '127.0.0.1')).port;
}

runChild(main);
