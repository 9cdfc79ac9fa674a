import { decodeProtectedHeader, decodeJwt, SignJWT, generateKeyPair } from 'jose';
import { SigningKeys } from '../../../src/tasks/signing-keys';
import { mintTaskToken, verifyTaskToken } from '../../../src/tasks/task-token';
import { ALICE, aTask, FakeClock, MALLORY, taskRejection } from './fixtures';

async function setup(retainSeconds = 3600) {
  const clock = new FakeClock();
  const keys = await SigningKeys.generate(clock.now, { retainSeconds });
  const task = aTask({ ttlSeconds: 600, tools: ['tools.files.v1.Files', 'tools.search.v1.Search/Query'] }, clock.ms);
  return { clock, keys, task, token: await mintTaskToken(keys, task) };
}

describe('task tokens', () => {
  it('round-trips: minted for a task, verified for its owner', async () => {
    const { clock, keys, task, token } = await setup();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'toolgate-task+jwt', kid: keys.currentKid });
    expect(decodeJwt(token)).toEqual({
      iss: 'toolgate',
      sub: ALICE,
      jti: task.id,
      iat: clock.ms / 1000,
      exp: task.expiresAt.getTime() / 1000,
      intent: 'tidy the docs',
      tools: ['tools.files.v1.Files', 'tools.search.v1.Search/Query'],
    });
    clock.advance(30);
    const claims = await verifyTaskToken(keys, token, ALICE, clock.now);
    expect(claims).toEqual({
      taskId: task.id,
      ownerSpiffeId: ALICE,
      intent: 'tidy the docs',
      tools: task.tools,
      issuedAt: task.createdAt,
      expiresAt: task.expiresAt,
    });
  });

  it('leaves out an empty intent', async () => {
    const { clock, keys } = await setup();
    const token = await mintTaskToken(keys, aTask({ intent: '' }, clock.ms));
    expect(decodeJwt(token)).not.toHaveProperty('intent');
    expect(await verifyTaskToken(keys, token, ALICE, clock.now)).not.toHaveProperty('intent');
  });

  it('refuses a token presented by another SPIFFE ID, naming neither token nor owner', async () => {
    const { clock, keys, token } = await setup();
    const error = await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, token, MALLORY, clock.now));
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain(ALICE);
    expect(error.message).not.toContain(keys.currentKid);
    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, token, '', clock.now));
  });

  it('refuses an expired token with ERR_TASK_EXPIRED, after a 5 s leeway', async () => {
    const { clock, keys, token } = await setup();
    clock.advance(600 + 4);
    await verifyTaskToken(keys, token, ALICE, clock.now);
    clock.advance(1);
    await taskRejection('ERR_TASK_EXPIRED', verifyTaskToken(keys, token, ALICE, clock.now));
  });

  it('still accepts a token signed by a rotated-out key until it expires, then refuses it', async () => {
    // Retained for the TTL cap plus leeway and a margin, as the gateway will configure it.
    const { clock, keys, token } = await setup(600 + 10);
    await keys.rotate();
    clock.advance(300);
    await verifyTaskToken(keys, token, ALICE, clock.now);
    clock.advance(305);
    await taskRejection('ERR_TASK_EXPIRED', verifyTaskToken(keys, token, ALICE, clock.now));
    clock.advance(6);
    // Past retention the key itself is gone: refused for the unknown key, expiry aside.
    const error = await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, token, ALICE, clock.now));
    expect(error.message).toMatch(/signing key/);
  });

  it('refuses a token from a key outside the ring, a wrong typ, and garbage', async () => {
    const { clock, keys, task, token } = await setup();
    const other = await SigningKeys.generate(clock.now);
    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(other, token, ALICE, clock.now));

    const { kid, key } = keys.signingKey();
    const wrongTyp = await new SignJWT({ tools: [...task.tools] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
      .setIssuer('toolgate')
      .setSubject(ALICE)
      .setJti(task.id)
      .setIssuedAt(clock.ms / 1000)
      .setExpirationTime(task.expiresAt)
      .sign(key);
    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, wrongTyp, ALICE, clock.now));

    // Same kid, another key: the signature does not verify.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ tools: [...task.tools] })
      .setProtectedHeader({ alg: 'ES256', typ: 'toolgate-task+jwt', kid })
      .setIssuer('toolgate')
      .setSubject(ALICE)
      .setJti(task.id)
      .setIssuedAt(clock.ms / 1000)
      .setExpirationTime(task.expiresAt)
      .sign(privateKey);
    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, forged, ALICE, clock.now));

    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, 'not.a.jwt', ALICE, clock.now));
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await taskRejection('ERR_TASK_TOKEN', verifyTaskToken(keys, tampered, ALICE, clock.now));
  });
});
