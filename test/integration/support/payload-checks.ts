import * as grpc from '@grpc/grpc-js';
import { RESEARCH_BOT, unaryCall, type GatewayWorld } from './gateway-world';

/**
 * The payload scenario both descriptor sources must pass: ReadFile allowed for a small read
 * under /public/ and denied, on the same method, for another path or a larger limit; the
 * decision log names `allowPolicy` for the allow. Expects /public/a.txt = "public data".
 */
export async function expectReadFileDecidedByArguments(world: GatewayWorld, allowPolicy: string): Promise<void> {
  const bot = await world.agent(RESEARCH_BOT);
  const ok = await unaryCall<{ content: Buffer }>(bot, 'readFile', { path: '/public/a.txt', maxBytes: 6 });
  expect(ok.content.toString()).toBe('public');
  await expect(unaryCall(bot, 'readFile', { path: '/secrets/key.txt', maxBytes: 6 })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  await expect(unaryCall(bot, 'readFile', { path: '/public/a.txt', maxBytes: 5000 })).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });

  const lines = world.decisions.lines.filter((l) => l.action === 'tools.files.v1.Files/ReadFile');
  expect(lines.map((l) => [l.decision, l.policies])).toEqual([
    ['allow', [allowPolicy]],
    ['deny', []],
    ['deny', []],
  ]);
}
