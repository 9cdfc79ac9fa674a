import * as grpc from '@grpc/grpc-js';
import { AGENT_HEADER, CALLER_HEADER } from '../server/owned-headers';

interface DirEntry {
  name: string;
  isDir: boolean;
  size: number;
}

/**
 * The example tool service behind the gateway: an in-memory file store with one method
 * per gRPC call type. It trusts the gateway's headers for who the caller is (the gateway
 * is the only peer its mTLS listener accepts) and says so in its answers.
 */
export function filesServiceImplementation(files = new Map<string, Buffer>()): grpc.UntypedServiceImplementation {
  const calledBy = (md: grpc.Metadata) => String(md.get(AGENT_HEADER)[0] ?? md.get(CALLER_HEADER)[0] ?? 'unknown');

  return {
    readFile(call: grpc.ServerUnaryCall<{ path: string; maxBytes: number }, unknown>, done: grpc.sendUnaryData<unknown>) {
      const content = files.get(call.request.path);
      if (!content) return done({ code: grpc.status.NOT_FOUND, details: `no such file: ${call.request.path}` });
      const max = call.request.maxBytes > 0 ? call.request.maxBytes : content.length;
      const trailer = new grpc.Metadata();
      trailer.set('x-served-for', calledBy(call.metadata));
      done(null, { path: call.request.path, content: content.subarray(0, max) }, trailer);
    },

    listDir(call: grpc.ServerWritableStream<{ path: string }, DirEntry>) {
      const prefix = call.request.path.endsWith('/') ? call.request.path : `${call.request.path}/`;
      for (const [path, content] of files) {
        if (path.startsWith(prefix)) call.write({ name: path.slice(prefix.length), isDir: false, size: content.length });
      }
      call.end();
    },

    writeFile(call: grpc.ServerReadableStream<{ path: string; data: Buffer }, unknown>, done: grpc.sendUnaryData<unknown>) {
      let path = '';
      const chunks: Buffer[] = [];
      call.on('data', (chunk: { path: string; data: Buffer }) => {
        path ||= chunk.path;
        chunks.push(chunk.data);
      });
      call.on('end', () => {
        const content = Buffer.concat(chunks);
        files.set(path, content);
        done(null, { path, bytesWritten: content.length });
      });
    },

    sync(call: grpc.ServerDuplexStream<{ path: string; op: string }, { path: string; status: string }>) {
      call.on('data', (req: { path: string; op: string }) => {
        if (req.op === 'OP_DELETE') call.write({ path: req.path, status: files.delete(req.path) ? 'deleted' : 'absent' });
        else call.write({ path: req.path, status: files.has(req.path) ? `present, ${files.get(req.path)!.length} bytes` : 'absent' });
      });
      call.on('end', () => call.end());
    },
  };
}
