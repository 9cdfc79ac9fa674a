import * as grpc from '@grpc/grpc-js';
import { constants } from 'node:http2';
import { CI_BUILDER, GatewayWorld, POLICIES, RESEARCH_BOT } from './support/gateway-world';
import { grpcFrame, grpcRequestHeaders, rawCaller, type RawConnection } from './support/raw-h2-caller';
import { sleep, waitUntil } from './support/workload-fixtures';

const raw = (b: Buffer): Buffer => b;
const UPLOAD = '/test.v1.Uploads/Upload';
const uploadService: grpc.ServiceDefinition = {
  Upload: { path: UPLOAD, requestStream: true, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
};
const UploadClient = grpc.makeGenericClientConstructor(uploadService, 'Uploads');

/** What the upstream saw of the uploads: how many messages, and how each call ended. */
interface Uploads {
  calls: number;
  messages: number;
  /** Calls whose request stream ended and that were still not cancelled after that: a tool would commit them. */
  completed: number;
  /** Calls cancelled before that. */
  cancelled: number;
}

/**
 * A client-streaming upstream that commits an upload as a careful grpc-js tool does: once
 * the request stream has ended and the call has not been cancelled. grpc-js emits 'end' on
 * a reset stream too, just before 'cancelled'; a reset is known by the next turn of the
 * event loop, while a half-close followed later by a reset would already have committed.
 */
function uploadImplementation(seen: Uploads): grpc.UntypedServiceImplementation {
  return {
    Upload(call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) {
      let settled = false; // each call counts once: committed, or cancelled before that
      seen.calls++;
      call.on('data', () => seen.messages++);
      call.on('cancelled', () => {
        if (!settled) seen.cancelled++;
        settled = true;
      });
      call.on('end', () =>
        setImmediate(() => {
          if (call.cancelled || settled) return;
          settled = true;
          seen.completed++;
          done(null, Buffer.alloc(0));
        }),
      );
    },
  };
}

const UPLOAD_POLICY = `
@id("researchers-upload")
permit (principal in AgentGroup::"researchers", action == Action::"test.v1.Uploads/Upload", resource == Tool::"files");
`;

const TRIES = 20;

describe('a caller that cancels mid-stream reaches the tool as a cancelled call, never a completed one', () => {
  let world: GatewayWorld;
  let uploads: grpc.Client;
  let connect: () => RawConnection;
  const seen: Uploads = { calls: 0, messages: 0, completed: 0, cancelled: 0 };

  beforeAll(async () => {
    world = await GatewayWorld.start({
      policies: { ...POLICIES, 'uploads.cedar': UPLOAD_POLICY },
      upstreamServices: [[uploadService, uploadImplementation(seen), 'test.v1.Uploads']],
      // The rapid reset opens 100 calls at once from one caller: above the default per-caller cap.
      extraConfig: 'limits:\n  perCaller:\n    maxConcurrentCalls: 1000\n',
    });
    uploads = world.client(UploadClient, await world.spiffe.workload(RESEARCH_BOT));
    connect = await rawCaller(world, RESEARCH_BOT);
  });
  afterAll(() => world.close());

  /**
   * TRIES times: starts an upload of two messages, waits until the upstream has both (the
   * call is open upstream, mid-stream), cancels it with `cancel`, and waits for the
   * upstream to see the call end. None may complete; every one must be cancelled.
   */
  async function expectEveryCallCancelled(upload: () => { cancel: () => void }): Promise<void> {
    const before = { ...seen };
    for (let i = 0; i < TRIES; i++) {
      const messages = seen.messages;
      const ended = seen.completed + seen.cancelled;
      const { cancel } = upload();
      await waitUntil(() => seen.messages === messages + 2, 5000);
      cancel();
      await waitUntil(() => seen.completed + seen.cancelled === ended + 1, 5000);
    }
    expect({ completed: seen.completed - before.completed, cancelled: seen.cancelled - before.cancelled }).toEqual({ completed: 0, cancelled: TRIES });
  }

  /** A raw upload of two messages on `session`, its request side left open. */
  function rawUpload(session: RawConnection['session']) {
    const stream = session.request(grpcRequestHeaders(UPLOAD), { endStream: false });
    stream.on('error', () => {});
    stream.write(grpcFrame(Buffer.from('part one')));
    stream.write(grpcFrame(Buffer.from('part two')));
    return stream;
  }

  it('a grpc-js client that calls cancel()', async () => {
    await expectEveryCallCancelled(() => {
      const call = uploads.makeClientStreamRequest(UPLOAD, raw, raw, () => {});
      call.write(Buffer.from('part one'));
      call.write(Buffer.from('part two'));
      return { cancel: () => call.cancel() };
    });
  });

  it('a raw HTTP/2 client that resets the stream with close(NGHTTP2_CANCEL): END_STREAM, then RST_STREAM(CANCEL)', async () => {
    const { session } = connect();
    try {
      await expectEveryCallCancelled(() => {
        const stream = rawUpload(session);
        return { cancel: () => stream.close(constants.NGHTTP2_CANCEL) };
      });
    } finally {
      session.destroy();
    }
  });

  it('a raw HTTP/2 client that sends RST_STREAM(CANCEL) alone (an aborted signal)', async () => {
    const { session } = connect();
    try {
      await expectEveryCallCancelled(() => {
        const abort = new AbortController();
        const stream = session.request(grpcRequestHeaders(UPLOAD), { endStream: false, signal: abort.signal });
        stream.on('error', () => {});
        stream.write(grpcFrame(Buffer.from('part one')));
        stream.write(grpcFrame(Buffer.from('part two')));
        return { cancel: () => abort.abort() };
      });
    } finally {
      session.destroy();
    }
  });

  it('a raw HTTP/2 client whose connection drops', async () => {
    await expectEveryCallCancelled(() => {
      const { session, socket } = connect();
      rawUpload(session);
      return { cancel: () => socket.destroy() };
    });
  });

  it('rapid reset: a hundred streams reset a moment after their first message never complete upstream', async () => {
    const { session } = connect();
    // One whole upload first, so that both connections are up and the resets race the relay.
    const warmUp = rawUpload(session);
    warmUp.end();
    warmUp.resume();
    await new Promise((resolve) => warmUp.on('close', resolve));
    const before = { ...seen };
    const allowedBefore = await world.metric('toolgate_decisions_total', { decision: 'allow' });
    try {
      const closed: Array<Promise<unknown>> = [];
      for (let i = 0; i < 100; i++) {
        const stream = session.request(grpcRequestHeaders(UPLOAD), { endStream: false });
        stream.on('error', () => {});
        stream.write(grpcFrame(Buffer.from('part')));
        setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), 1);
        closed.push(new Promise((resolve) => stream.on('close', resolve)));
      }
      await Promise.all(closed);
      // The gateway allowed each call (opening it upstream at once), and every call that
      // reached the upstream has ended there, one way or the other.
      for (let i = 0; (await world.metric('toolgate_decisions_total', { decision: 'allow' })) < allowedBefore + 100; i++) {
        if (i === 1000) throw new Error('the gateway did not decide every call');
        await sleep(5);
      }
      const settled = () => seen.completed + seen.cancelled - before.completed - before.cancelled === seen.calls - before.calls;
      await waitUntil(settled, 5000);
      await sleep(100); // a call whose HEADERS were still on their way upstream
      await waitUntil(settled, 5000);
    } finally {
      session.destroy();
    }
    expect(seen.calls - before.calls).toBeGreaterThan(0);
    expect(seen.completed - before.completed).toBe(0);
  });

  it('an upload to the files tool that the caller cancels is not committed', async () => {
    const ci = await world.agent(CI_BUILDER);
    for (let i = 0; i < TRIES; i++) {
      const path = `/cancelled/${i}.txt`;
      const status = new Promise<grpc.StatusObject>((resolve) => {
        const call = ci.writeFile(() => {}) as grpc.ClientWritableStream<unknown>;
        call.on('status', resolve);
        call.write({ path, data: Buffer.from('first half') }, () => setTimeout(() => call.cancel(), 10 * (i % 4)));
      });
      expect((await status).code).toBe(grpc.status.CANCELLED);
    }
    await sleep(200);
    expect([...world.files.keys()].filter((p) => p.startsWith('/cancelled/'))).toEqual([]);
  });

  it('a clean half-close still completes the upload', async () => {
    const completed = seen.completed;
    const reply = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = uploads.makeClientStreamRequest(UPLOAD, raw, raw, (err) => resolve(err));
      call.write(Buffer.from('whole'));
      call.end();
    });
    expect(reply).toBeNull();
    expect(seen.completed).toBe(completed + 1);
  });
});
