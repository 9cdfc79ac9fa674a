import * as grpc from '@grpc/grpc-js';
import { GatewayWorld, RESEARCH_BOT, STRANGER, unaryCall } from './support/gateway-world';

/** Starts a world with `$TOOLGATE_TRACE` set to `spec` for its start only. */
async function worldTracing(spec: string | undefined): Promise<GatewayWorld> {
  const before = process.env.TOOLGATE_TRACE;
  if (spec === undefined) delete process.env.TOOLGATE_TRACE;
  else process.env.TOOLGATE_TRACE = spec;
  try {
    return await GatewayWorld.start({ verifyCallTokens: true });
  } finally {
    if (before === undefined) delete process.env.TOOLGATE_TRACE;
    else process.env.TOOLGATE_TRACE = before;
  }
}

async function callTwice(world: GatewayWorld): Promise<void> {
  world.files.set('/a', Buffer.from('a'));
  await unaryCall(await world.agent(RESEARCH_BOT), 'readFile', { path: '/a' });
  await expect(unaryCall(await world.agent(STRANGER), 'readFile', { path: '/a' })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
}

const traced = (world: GatewayWorld) => world.operations.lines.filter((l) => l.trace !== undefined);

describe('opt-in debug tracing per component ($TOOLGATE_TRACE)', () => {
  it('traces the components named, at debug on an info log, and never a token or a header value', async () => {
    const world = await worldTracing('pipeline,policy,relay,tls,bogus');
    try {
      await callTwice(world);
      const lines = traced(world);
      const seen = (component: string) => lines.filter((l) => l.trace === component).map((l) => l.msg);
      expect(seen('tls')).toEqual(expect.arrayContaining(['connection accepted']));
      expect(seen('pipeline')).toEqual(expect.arrayContaining(['call received', 'routed']));
      expect(seen('policy')).toEqual(['cedar decision', 'cedar decision']);
      expect(seen('relay')).toEqual(['upstream stream opening', 'relayed call ended']);
      expect(seen('tasks')).toEqual([]);
      expect(lines.every((l) => l.level === 20)).toBe(true);
      expect(lines.find((l) => l.msg === 'cedar decision' && l.allow === false)).toMatchObject({
        principal: `Workload::"${STRANGER}"`,
        action: 'tools.files.v1.Files/ReadFile',
        context: ['peer', 'metadata'],
      });
      expect(lines.find((l) => l.msg === 'upstream stream opening')!.headers).toEqual(expect.arrayContaining(['authorization', 'x-toolgate-caller']));
      const text = JSON.stringify(lines);
      expect(text).not.toMatch(/Bearer|eyJ/);
      expect(world.operations.lines.find((l) => l.msg === 'TOOLGATE_TRACE names components that do not trace; ignored')).toMatchObject({ unknown: ['bogus'] });
    } finally {
      await world.close();
    }
  });

  it('traces nothing when it is not set', async () => {
    const world = await worldTracing(undefined);
    try {
      await callTwice(world);
      expect(traced(world)).toEqual([]);
    } finally {
      await world.close();
    }
  });
});
