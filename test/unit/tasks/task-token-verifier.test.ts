import { SigningKeys } from '../../../src/tasks/signing-keys';
import { mintTaskToken } from '../../../src/tasks/task-token';
import { TaskTokenVerifier } from '../../../src/tasks/task-token-verifier';
import { ALICE, aTask, FakeClock, MALLORY, taskRejection } from './fixtures';

describe('TaskTokenVerifier', () => {
  async function setup() {
    const clock = new FakeClock();
    const keys = await SigningKeys.generate(clock.now);
    const task = aTask({ ttlSeconds: 60 }, clock.ms);
    return { clock, keys, task, token: await mintTaskToken(keys, task), verifier: new TaskTokenVerifier(keys, clock.now, 2) };
  }

  it('verifies once, then answers from the cache', async () => {
    const { keys, token, verifier, task } = await setup();
    expect((await verifier.verify(token, ALICE)).taskId).toBe(task.id);
    const verificationKey = jest.spyOn(keys, 'verificationKey');
    expect((await verifier.verify(token, ALICE)).taskId).toBe(task.id);
    expect(verificationKey).not.toHaveBeenCalled();
  });

  it('still refuses a cached token presented by another SPIFFE ID', async () => {
    const { token, verifier } = await setup();
    await verifier.verify(token, ALICE);
    await taskRejection('ERR_TASK_TOKEN', verifier.verify(token, MALLORY));
  });

  it('refuses a token first presented by another SPIFFE ID, and still serves its owner', async () => {
    const { token, verifier, task } = await setup();
    const [stolen, owned] = await Promise.allSettled([verifier.verify(token, MALLORY), verifier.verify(token, ALICE)]);
    expect(stolen).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TASK_TOKEN' } });
    expect(owned).toMatchObject({ status: 'fulfilled', value: { taskId: task.id } });
  });

  it('still refuses a cached token once it expired', async () => {
    const { clock, token, verifier } = await setup();
    await verifier.verify(token, ALICE);
    clock.advance(60);
    await taskRejection('ERR_TASK_EXPIRED', verifier.verify(token, ALICE));
  });

  it('never caches a token that failed', async () => {
    const { token, verifier } = await setup();
    const forged = `${token.slice(0, -6)}AAAAAA`;
    await taskRejection('ERR_TASK_TOKEN', verifier.verify(forged, ALICE));
    await taskRejection('ERR_TASK_TOKEN', verifier.verify(forged, ALICE));
  });
});
