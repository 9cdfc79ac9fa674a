import { connect, constants, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { resetWithCancel } from '../../../src/relay/reset-with-cancel';

/** What the server saw of one request stream. */
interface Seen {
  data: string;
  /** The request side ended (END_STREAM came): a tool would take the request as whole. */
  ended: boolean;
  aborted: boolean;
  rstCode: number;
}

describe('resetWithCancel: an upstream request reset with RST_STREAM(CANCEL) alone', () => {
  let server: Http2Server;
  let port: number;
  const seen: Seen[] = [];
  const closed: Array<() => void> = [];

  beforeAll(async () => {
    server = createServer();
    server.on('stream', (stream: ServerHttp2Stream) => {
      const s: Seen = { data: '', ended: false, aborted: false, rstCode: -1 };
      seen.push(s);
      stream.on('data', (chunk: Buffer) => (s.data += chunk.toString()));
      // Node ends the readable side of a reset stream too: after 'aborted' for a reset alone,
      // before it when END_STREAM came first (what a tool would take for a whole request).
      stream.on('end', () => (s.ended ||= !s.aborted));
      stream.on('aborted', () => (s.aborted = true));
      stream.on('error', () => {});
      stream.on('close', () => {
        s.rstCode = stream.rstCode;
        closed.shift()?.();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reaches the server as a reset with CANCEL, no END_STREAM before it, after the bytes already sent', async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
      stream.on('error', () => {});
      stream.write('part one');
      await new Promise<void>((resolve) => {
        const wait = () => (seen[0]?.data === 'part one' ? resolve() : setTimeout(wait, 5));
        wait();
      });
      const serverClosed = new Promise<void>((resolve) => closed.push(resolve));
      resetWithCancel(stream);
      await serverClosed;
      expect(seen[0]).toEqual({ data: 'part one', ended: false, aborted: true, rstCode: constants.NGHTTP2_CANCEL });
      expect(stream.rstCode).toBe(constants.NGHTTP2_CANCEL);
      // A second reset, or one of a stream already gone, does nothing.
      expect(() => resetWithCancel(stream)).not.toThrow();
    } finally {
      session.close();
    }
  });
});
