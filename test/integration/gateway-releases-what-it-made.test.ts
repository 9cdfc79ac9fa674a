import { createServer, type AddressInfo, type Server } from 'node:net';
import { KeyRing } from '../../src/credentials/key-ring';
import { AdminServer } from '../../src/observability/admin-server';
import { ReloadWatcher } from '../../src/policy/reload-watcher';
import { UpstreamChannel } from '../../src/relay/upstream-channel';
import { OpenTaskCalls } from '../../src/server/open-task-calls';
import { TlsHttp2Listener } from '../../src/server/tls-http2-listener';
import { JwtSource } from '../../src/spiffe/workload/jwt-source';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { canListen, unclaimedPort } from '../support/unclaimed-port';
import { GatewayWorld, RESEARCH_BOT, unaryCall } from './support/gateway-world';

function spyRelease<T extends object>(proto: T, method: keyof T & string, name: string, released: string[]): jest.SpyInstance {
  const real = proto[method] as unknown as (...args: unknown[]) => unknown;
  return jest.spyOn(proto as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation(function (this: unknown, ...args: unknown[]) {
    released.push(name);
    return real.apply(this, args);
  });
}

describe('the gateway releases everything it made, newest first, when a start fails midway and when it shuts down', () => {
  let released: string[];
  let spies: jest.SpyInstance[];
  const trace = process.env.TOOLGATE_TRACE;

  beforeEach(() => {
    released = [];
    spies = [
      spyRelease(TlsHttp2Listener.prototype, 'drain', 'listener', released),
      spyRelease(OpenTaskCalls.prototype, 'close', 'open task calls', released),
      spyRelease(UpstreamChannel.prototype, 'close', 'upstream channel', released),
      spyRelease(JwtSource.prototype, 'close', 'JWT source', released),
      spyRelease(X509Source.prototype, 'close', 'X.509 source', released),
      spyRelease(KeyRing.prototype, 'close', 'signing keys', released),
      spyRelease(AdminServer.prototype, 'close', 'admin endpoint', released),
      spyRelease(ReloadWatcher.prototype, 'close', 'watcher', released),
    ];
    process.env.TOOLGATE_TRACE = 'gateway';
  });
  afterEach(() => {
    spies.forEach((s) => s.mockRestore());
    if (trace === undefined) delete process.env.TOOLGATE_TRACE;
    else process.env.TOOLGATE_TRACE = trace;
  });

  it('a start whose token listener cannot listen frees the ports already listening and closes the sources, keys and upstreams it made', async () => {
    const [listen, admin] = [await unclaimedPort(), await unclaimedPort()];
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const tokenPort = (taken.address() as AddressInfo).port;
    try {
      const start = GatewayWorld.start({ ports: { listen, admin }, extraConfig: `workloadTokens:\n  listen: 127.0.0.1:${tokenPort}\n` });
      await expect(start).rejects.toThrow(new RegExp(`EADDRINUSE.*:${tokenPort}\\b`)); // the token listener, not a port taken by a neighbour
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    // The mTLS listener was listening and the admin endpoint serving: both ports are free again.
    expect(await canListen(listen)).toBe(true);
    expect(await canListen(admin)).toBe(true);
    // Only the mTLS listener was listening; after the gateway's releases, the test world closes its tool's own source.
    expect(released).toEqual(['listener', 'open task calls', 'upstream channel', 'JWT source', 'X.509 source', 'signing keys', 'admin endpoint', 'watcher', 'X.509 source']);
  });

  it('a shutdown drains the listeners first, then releases the rest newest first, each once', async () => {
    const world = await GatewayWorld.start({ extraConfig: 'workloadTokens:\n  listen: 127.0.0.1:0\n' });
    try {
      world.files.set('/a', Buffer.from('a'));
      await unaryCall(await world.agent(RESEARCH_BOT), 'readFile', { path: '/a' });
      const made = world.operations.lines.filter((l) => l.trace === 'gateway' && l.msg === 'made').map((l) => l.resource);
      expect(made).toEqual([
        'logs',
        'watcher',
        'admin endpoint',
        'signing keys',
        'task state',
        'X.509 source',
        'JWT source',
        'upstream channels',
        'open task calls',
        'approval expiry sweep',
        'MCP upstream connections',
        'listeners',
      ]);
      await world.gateway.close(1000);
      const releasing = world.operations.lines.filter((l) => l.trace === 'gateway' && l.msg === 'releasing').map((l) => l.resource);
      expect(releasing).toEqual([...made].reverse());
      // Both listeners drain together, before anything they use is closed.
      expect(released).toEqual(['listener', 'listener', 'open task calls', 'upstream channel', 'JWT source', 'X.509 source', 'signing keys', 'admin endpoint', 'watcher']);
      await world.gateway.close(1000);
      expect(released).toHaveLength(9);
    } finally {
      await world.close();
    }
  });
});
