import * as grpc from '@grpc/grpc-js';
import { AGENT_HEADER, CALLER_HEADER } from '../server/owned-headers';
import { callTokenClaims, requireCallTokens, type CallTokenVerifier, type VerifiedCallClaims } from '../credentials/call-token-verifier';
import { filesService } from './files-proto';

interface DirEntry {
  name: string;
  isDir: boolean;
  size: number;
}

export interface FilesServiceOptions {
  /** Verify the gateway's call token on every call (see `requireCallTokens`); refuse calls without one. */
  readonly callTokens?: CallTokenVerifier;
  /** With `callTokens`: each call's verified claims are pushed here, for demos and tests. */
  readonly verified?: VerifiedCallClaims[];
}

/**
 * The example tool service behind the gateway: an in-memory file store with one method
 * per gRPC call type. Without `callTokens` it trusts the gateway's headers for who the
 * caller is (the gateway is the only peer its mTLS listener accepts); with it, only a
 * verified call token says so, and ReadFile's trailers echo its `sub` and `task_id`
 * (`x-call-token-sub`, `x-call-token-task`).
 */
export function filesServiceImplementation(files = new Map<string, Buffer>(), options: FilesServiceOptions = {}): grpc.UntypedServiceImplementation {
  const verifying = options.callTokens !== undefined;
  const calledBy = (call: { metadata: grpc.Metadata }) => {
    if (verifying) {
      const claims = callTokenClaims(call);
      return claims?.agent ?? claims?.subject ?? 'unknown';
    }
    const md = call.metadata;
    return String(md.get(AGENT_HEADER)[0] ?? md.get(CALLER_HEADER)[0] ?? 'unknown');
  };

  const implementation: grpc.UntypedServiceImplementation = {
    readFile(call: grpc.ServerUnaryCall<{ path: string; maxBytes: number }, unknown>, done: grpc.sendUnaryData<unknown>) {
      const content = files.get(call.request.path);
      if (!content) return done({ code: grpc.status.NOT_FOUND, details: `no such file: ${call.request.path}` });
      const max = call.request.maxBytes > 0 ? call.request.maxBytes : content.length;
      const trailer = new grpc.Metadata();
      trailer.set('x-served-for', calledBy(call));
      const claims = callTokenClaims(call);
      if (claims !== undefined) {
        trailer.set('x-call-token-sub', claims.subject);
        if (claims.taskId !== undefined) trailer.set('x-call-token-task', claims.taskId);
      }
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
      // grpc-js ends the request stream of a cancelled call too, just before 'cancelled': a
      // reset (how the gateway relays a caller's cancel) is known by the next turn of the
      // event loop, and a cut-off upload is then not committed.
      call.on('end', () =>
        setImmediate(() => {
          if (call.cancelled) return;
          const content = Buffer.concat(chunks);
          files.set(path, content);
          done(null, { path, bytesWritten: content.length });
        }),
      );
    },

    sync(call: grpc.ServerDuplexStream<{ path: string; op: string }, { path: string; status: string }>) {
      call.on('data', (req: { path: string; op: string }) => {
        if (req.op === 'OP_DELETE') call.write({ path: req.path, status: files.delete(req.path) ? 'deleted' : 'absent' });
        else call.write({ path: req.path, status: files.has(req.path) ? `present, ${files.get(req.path)!.length} bytes` : 'absent' });
      });
      call.on('end', () => call.end());
    },
  };
  if (options.callTokens === undefined) return implementation;
  const verified = options.verified;
  return requireCallTokens(filesService, implementation, options.callTokens, verified === undefined ? {} : { onVerified: (claims) => verified.push(claims) });
}
