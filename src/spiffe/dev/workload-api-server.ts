import * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import {
  SECURITY_HEADER,
  SECURITY_HEADER_VALUE,
  workloadApiService,
  type JWTSVIDRequest,
  type OutgoingJWTBundlesResponse,
  type OutgoingWITBundlesResponse,
  type OutgoingWITSVIDResponse,
  type OutgoingX509BundlesResponse,
  type OutgoingX509SVIDResponse,
  type ValidateJWTSVIDRequest,
  type WorkloadApiMethod,
} from '../workload/proto';
import { isGrpcFailure, NO_IDENTITY, type GrpcFailure } from './grpc-failure';
import { answerFetchJwtSvid, answerValidateJwtSvid, jwtKeyStore, type JwtKeyStore, type JwtSvidHandler } from './jwt-rpcs';
import { DEFAULT_LISTEN_ADDRESS, parseListenAddress } from './listen-address';

export type { GrpcFailure } from './grpc-failure';
export type { JwtSvidHandler } from './jwt-rpcs';

export interface RecordedCall {
  method: WorkloadApiMethod;
  /** Request metadata as sent, every key with all its values. */
  metadata: Record<string, (string | Buffer)[]>;
  request: unknown;
  /** The final status; `undefined` while a stream is still open. */
  code: grpc.status | undefined;
  /** The status message, once `code` is set. */
  message: string | undefined;
  /** Response messages sent on this call so far. */
  messages: number;
  /** When the call arrived (ms, from the server's clock). */
  at: number;
}

export interface DevWorkloadApiOptions {
  /** `unix:///abs/path.sock` or `tcp://<ip>:<port>`; default `tcp://127.0.0.1:0`. */
  address?: string;
  /** Clock for `RecordedCall.at` and token expiry checks; default `Date.now`. */
  now?: () => number;
}

/** The server-streaming RPCs, which `endStreams` can end. */
export type StreamMethod = 'FetchX509SVID' | 'FetchX509Bundles' | 'FetchJWTBundles' | 'FetchWITSVID' | 'FetchWITBundles';
type StreamCall = grpc.ServerWritableStream<unknown, unknown>;

interface Topic {
  current: object | null;
  /** Set while the method answers Unimplemented (the WIT profile, until a response is set). */
  unimplemented?: string;
  open: Map<StreamCall, RecordedCall>;
}

const STREAM_METHODS: readonly StreamMethod[] = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles', 'FetchWITSVID', 'FetchWITBundles'];
const BAD_HEADER: GrpcFailure = { code: grpc.status.INVALID_ARGUMENT, message: 'security header missing from request' };
const FORCE_SHUTDOWN_AFTER_MS = 1000;
const SERVER_STOPPED: GrpcFailure = { code: grpc.status.UNAVAILABLE, message: 'workload API server stopped' };

/**
 * A Workload API server for tests and the dev identity provider, in the manner of
 * go-spiffe's fakeworkloadapi but answering exactly as SPIRE does (status codes and
 * messages), on a unix socket or TCP. It keeps one current response per streaming RPC,
 * sends it at once to each new stream and pushes every change to all open streams.
 * It never inspects the responses it is given, so tests can push malformed ones.
 * Every call is recorded, and calls can be scripted to fail.
 */
export class DevWorkloadApi {
  /** Every call received, in arrival order. */
  readonly calls: RecordedCall[] = [];
  private readonly topics = new Map<StreamMethod, Topic>(STREAM_METHODS.map((m) => [m, { current: null, open: new Map() }]));
  private readonly scripted = new Map<WorkloadApiMethod, GrpcFailure[]>();
  private readonly events = new EventEmitter();
  private jwtSvidHandler: JwtSvidHandler | null = null;
  /** What ValidateJWTSVID trusts: exactly the JWT bundles being served, parsed once per update. */
  private jwtKeys: JwtKeyStore = jwtKeyStore(null);
  private bare = false;
  private server: grpc.Server | undefined;
  private uri = '';
  private socketPath: string | undefined;

  private constructor(private readonly now: () => number) {
    this.topics.get('FetchWITSVID')!.unimplemented = 'fetching WIT-SVIDs is not implemented';
    this.topics.get('FetchWITBundles')!.unimplemented = 'fetching WIT bundles is not implemented';
  }

  static async start(options: DevWorkloadApiOptions = {}): Promise<DevWorkloadApi> {
    const api = new DevWorkloadApi(options.now ?? Date.now);
    await api.listen(options.address ?? DEFAULT_LISTEN_ADDRESS);
    return api;
  }

  /** The SPIFFE_ENDPOINT_SOCKET URI clients use, with the real port for `tcp://…:0`. */
  get address(): string {
    return this.uri;
  }

  setX509SvidResponse(response: OutgoingX509SVIDResponse | null): void {
    this.publish('FetchX509SVID', response);
  }

  setX509BundlesResponse(response: OutgoingX509BundlesResponse | null): void {
    this.publish('FetchX509Bundles', response);
  }

  /** Also the key set ValidateJWTSVID verifies against. */
  setJwtBundlesResponse(response: OutgoingJWTBundlesResponse | null): void {
    this.publish('FetchJWTBundles', response);
    this.jwtKeys = jwtKeyStore(response);
  }

  /** Makes FetchWITSVID implemented (it answers Unimplemented until first called). */
  setWitSvidResponse(response: OutgoingWITSVIDResponse | null): void {
    this.publish('FetchWITSVID', response);
  }

  setWitBundlesResponse(response: OutgoingWITBundlesResponse | null): void {
    this.publish('FetchWITBundles', response);
  }

  /** `null` (the default) answers PermissionDenied "no identity issued". */
  setJwtSvidHandler(handler: JwtSvidHandler | null): void {
    this.jwtSvidHandler = handler;
  }

  /**
   * Keys bundle maps by bare trust-domain name (as go-spiffe's fake does) instead of
   * `spiffe://td` (as SPIRE does). Changing it re-sends the current responses.
   */
  get bareBundleKeys(): boolean {
    return this.bare;
  }

  set bareBundleKeys(on: boolean) {
    this.bare = on;
    for (const [method, topic] of this.topics) {
      if (topic.current !== null && method !== 'FetchWITSVID') for (const [call, record] of topic.open) this.send(method, call, record, topic.current);
    }
  }

  /** Answers the next `count` calls of `method` (that pass the header check) with this status. */
  failNext(method: WorkloadApiMethod, code: grpc.status, message: string, count = 1): void {
    const queue = this.scripted.get(method) ?? [];
    for (let i = 0; i < count; i++) queue.push({ code, message });
    this.scripted.set(method, queue);
  }

  /** Ends open streams with this status (`OK` ends them normally). */
  endStreams(method: StreamMethod | 'all', code: grpc.status, message: string): void {
    for (const [m, topic] of this.topics) {
      if (method !== 'all' && method !== m) continue;
      for (const [call, record] of topic.open) this.finishStream(topic, call, record, { code, message });
    }
  }

  callsTo(method: WorkloadApiMethod): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `method` has been called at least `count` times in all. */
  waitForCalls(method: WorkloadApiMethod, count = 1): Promise<RecordedCall[]> {
    return new Promise((resolve) => {
      const check = (): void => {
        const calls = this.callsTo(method);
        if (calls.length < count) return;
        this.events.off('call', check);
        resolve(calls);
      };
      this.events.on('call', check);
      check();
    });
  }

  /**
   * Stops listening. Open streams end with Unavailable, the status that drives a client's
   * backoff. (grpc-js's forceShutdown alone resets streams, which clients see as Cancelled,
   * a code go-spiffe and py-spiffe do not retry; so the statuses go out first, and
   * force is only the fallback for calls that do not finish.) Idempotent.
   */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.endStreams('all', SERVER_STOPPED.code, SERVER_STOPPED.message);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, FORCE_SHUTDOWN_AFTER_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    if (this.socketPath !== undefined) await rm(this.socketPath, { force: true });
  }

  /** Stops, then listens again on the same address (same port for TCP), keeping all state. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.uri);
  }

  private async listen(address: string): Promise<void> {
    const listen = parseListenAddress(address);
    const server = new grpc.Server();
    server.addService(workloadApiService(), {
      FetchX509SVID: (call: StreamCall) => this.openStream('FetchX509SVID', call),
      FetchX509Bundles: (call: StreamCall) => this.openStream('FetchX509Bundles', call),
      FetchJWTBundles: (call: StreamCall) => this.openStream('FetchJWTBundles', call),
      FetchWITSVID: (call: StreamCall) => this.openStream('FetchWITSVID', call),
      FetchWITBundles: (call: StreamCall) => this.openStream('FetchWITBundles', call),
      FetchJWTSVID: (call: grpc.ServerUnaryCall<JWTSVIDRequest, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        void this.unary('FetchJWTSVID', call, callback, (req) => answerFetchJwtSvid(req, this.jwtSvidHandler)),
      ValidateJWTSVID: (call: grpc.ServerUnaryCall<ValidateJWTSVIDRequest, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        void this.unary('ValidateJWTSVID', call, callback, (req) => answerValidateJwtSvid(req, this.jwtKeys, new Date(this.now()))),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(listen.bindTarget, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    this.server = server;
    this.socketPath = listen.path;
    this.uri = listen.uriFor(port);
  }

  private publish(method: StreamMethod, response: object | null): void {
    const topic = this.topics.get(method)!;
    topic.current = response;
    topic.unimplemented = undefined;
    if (response === null) this.endStreams(method, NO_IDENTITY.code, NO_IDENTITY.message);
    else for (const [call, record] of topic.open) this.send(method, call, record, response);
  }

  private record(method: WorkloadApiMethod, call: { metadata: grpc.Metadata; request: unknown }): RecordedCall {
    const record: RecordedCall = {
      method,
      metadata: call.metadata.toJSON(),
      request: call.request,
      code: undefined,
      message: undefined,
      messages: 0,
      at: this.now(),
    };
    this.calls.push(record);
    this.events.emit('call', record);
    return record;
  }

  /** SPIRE's middleware check, then any scripted failure. */
  private precheck(method: WorkloadApiMethod, metadata: grpc.Metadata): GrpcFailure | undefined {
    const values = metadata.get(SECURITY_HEADER);
    if (values.length !== 1 || values[0] !== SECURITY_HEADER_VALUE) return BAD_HEADER;
    return this.scripted.get(method)?.shift();
  }

  private openStream(method: StreamMethod, call: StreamCall): void {
    const record = this.record(method, call);
    const topic = this.topics.get(method)!;
    const failure =
      this.precheck(method, call.metadata) ??
      (topic.unimplemented !== undefined ? { code: grpc.status.UNIMPLEMENTED, message: topic.unimplemented } : undefined) ??
      (topic.current === null ? NO_IDENTITY : undefined);
    if (failure !== undefined) return this.finishStream(topic, call, record, failure);

    topic.open.set(call, record);
    call.on('cancelled', () => {
      if (!topic.open.delete(call)) return;
      record.code = grpc.status.CANCELLED;
      record.message = 'cancelled by client';
    });
    this.send(method, call, record, topic.current!);
  }

  private send(method: StreamMethod, call: StreamCall, record: RecordedCall, response: object): void {
    if (call.cancelled) return;
    record.messages++;
    call.write(this.bare ? withBareBundleKeys(method, response) : response);
  }

  private finishStream(topic: Topic, call: StreamCall, record: RecordedCall, status: GrpcFailure): void {
    topic.open.delete(call);
    record.code = status.code;
    record.message = status.message;
    if (status.code === grpc.status.OK) call.end();
    else call.emit('error', { code: status.code, details: status.message });
  }

  private async unary<Req>(
    method: WorkloadApiMethod,
    call: grpc.ServerUnaryCall<Req, unknown>,
    callback: grpc.sendUnaryData<unknown>,
    answer: (request: Req) => Promise<object | GrpcFailure>,
  ): Promise<void> {
    const record = this.record(method, call);
    const result = this.precheck(method, call.metadata) ?? (await answer(call.request));
    if (isGrpcFailure(result)) {
      record.code = result.code;
      record.message = result.message;
      callback({ code: result.code, details: result.message });
    } else {
      record.code = grpc.status.OK;
      record.message = 'OK';
      record.messages = 1;
      callback(null, result);
    }
  }
}

/** The same response with its bundle map keyed `td` instead of `spiffe://td`. */
function withBareBundleKeys(method: StreamMethod, response: object): object {
  const field = method === 'FetchX509SVID' ? 'federated_bundles' : method === 'FetchWITSVID' ? undefined : 'bundles';
  const map = field === undefined ? undefined : (response as Record<string, unknown>)[field];
  if (field === undefined || map === null || typeof map !== 'object') return response;
  const bare = Object.fromEntries(Object.entries(map).map(([k, v]) => [k.startsWith('spiffe://') ? k.slice(9) : k, v]));
  return { ...response, [field]: bare };
}
