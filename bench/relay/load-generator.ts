import * as grpc from '@grpc/grpc-js';
import { TASK_HEADER, TASK_TOKEN_HEADER } from './deployment';
import { PING_PONG_PATH, raw, SERVER_STREAM_MESSAGES, SERVER_STREAM_PATH, UNARY_PATH } from './echo-service';
import type { LatencyRecorder } from './latency-recorder';

export interface Workload {
  name: string;
  title: string;
  /** unary: one call; stream: bidi ping-pong, each answered message a call; server-stream: one request answered by `SERVER_STREAM_MESSAGES` messages, each whole stream a call. */
  kind: 'unary' | 'stream' | 'server-stream';
  mode: 'closed' | 'open';
  /** Open loop: calls per second, when not the bench's BENCH_RATE. */
  rate?: number;
  /** Only these topologies (default: every topology that can take the workload). */
  topologies?: readonly string[];
}

export interface LoadOptions {
  request: Buffer;
  /**
   * Unary calls only: the method to call and a request per call, instead of Echo's Unary with
   * `request` (toolgate-args: the payload-aware Tool/Call, each call with its own arguments).
   */
  unary?: UnaryCall;
  /** Closed loop: calls (unary) or streams (each with one message in flight) in flight. Open loop: streams used. */
  concurrency: number;
  /** Open loop: calls or stream messages per second. */
  rate: number;
  /** The x-task-id header of each unary call, or of each stream when it opens. */
  taskId: () => string;
  /** toolgate+task: the task token every call (or stream) carries as x-toolgate-task. */
  taskToken?: string;
  /**
   * Called with the final status of every unary call, of every stream message (OK when
   * answered, the stream's status when it failed first), and of every stream, whether
   * measuring or not: the fault suite (test/faults/) counts outcomes by code.
   */
  onOutcome?: (code: grpc.status, what: 'call' | 'message' | 'stream') => void;
}

/** Another unary method than Echo's, and what each call sends to it. */
export interface UnaryCall {
  path: string;
  /** The next call's request message; cheap (it runs on every call): e.g. the next of a pre-built pool. */
  request: () => Buffer;
}

/** Open loop: calls not sent while this many are outstanding (the target cannot keep up). */
const MAX_OUTSTANDING = 2000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Drives one workload against one grpc-js client until `stop()`. Latencies are recorded,
 * and errors counted, only for calls (or stream messages) that complete while `measuring`
 * is true; a message's latency runs from its write to its answer.
 */
export class LoadRun {
  measuring = false;
  /**
   * Open-loop unary: a call scheduled while measuring counts as answered in time (the
   * recorder's `answeredInTime`) when it is answered OK no later than this (performance.now()
   * ms). Infinity while the window lasts; set to the window's end plus a grace when it ends.
   */
  answeredBy = Infinity;
  private stopping = false;
  private outstanding = 0;
  private readonly streams: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
  private readonly idle: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: grpc.Client,
    readonly workload: Workload,
    private readonly options: LoadOptions,
    /** Shared by the rounds of one workload and topology. */
    readonly recorder: LatencyRecorder,
  ) {
    const { kind, mode } = workload;
    if (kind === 'unary' && mode === 'closed') for (let i = 0; i < options.concurrency; i++) this.unaryLoop();
    if (kind === 'unary' && mode === 'open') this.schedule(() => this.unaryOnce(() => {}, this.measuring), true);
    if (kind === 'server-stream' && mode === 'closed') for (let i = 0; i < options.concurrency; i++) this.serverStreamLoop();
    if (kind === 'server-stream' && mode === 'open') this.schedule(() => this.serverStreamOnce(() => {}), false);
    if (kind === 'stream' && mode === 'closed') for (let i = 0; i < options.concurrency; i++) this.pingPong(true);
    if (kind === 'stream' && mode === 'open') {
      const queues = Array.from({ length: options.concurrency }, () => this.pingPong(false));
      let next = 0;
      this.schedule(() => queues[next++ % queues.length]!(), false);
    }
  }

  /** Streams opened so far (a failed one is replaced by a new one). */
  get streamsOpened(): number {
    return this.streams.length;
  }

  /** Stops sending, and resolves when every outstanding call and stream has finished. */
  stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    for (const stream of this.streams) if (this.outstandingOn(stream) === 0) stream.end();
    return new Promise<void>((resolve) => {
      const timeout = setTimeout(() => {
        for (const s of this.streams) s.cancel();
        resolve();
      }, STOP_TIMEOUT_MS);
      this.whenIdle(() => {
        clearTimeout(timeout);
        resolve();
      });
    });
  }

  private whenIdle(fn: () => void): void {
    if (this.outstanding === 0) fn();
    else this.idle.push(fn);
  }

  private settled(): void {
    if (--this.outstanding === 0) for (const fn of this.idle.splice(0)) fn();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set(TASK_HEADER, this.options.taskId());
    if (this.options.taskToken !== undefined) md.set(TASK_TOKEN_HEADER, this.options.taskToken);
    return md;
  }

  private unaryLoop(): void {
    if (this.stopping) return;
    this.unaryOnce(() => this.unaryLoop());
  }

  /** One unary call; `scheduledInWindow`: an open-loop call scheduled while measuring, followed for the shed count. */
  private unaryOnce(then: () => void, scheduledInWindow = false): void {
    this.outstanding++;
    const unary = this.options.unary;
    const t0 = performance.now();
    this.client.makeUnaryRequest(unary?.path ?? UNARY_PATH, raw, raw, unary?.request() ?? this.options.request, this.metadata(), (err) => {
      this.options.onOutcome?.(err ? err.code : grpc.status.OK, 'call');
      const now = performance.now();
      if (this.measuring) {
        if (err) this.recorder.errors++;
        else this.recorder.record(now - t0);
      }
      if (scheduledInWindow) {
        if (err) this.recorder.shedFor(grpc.status[err.code] ?? String(err.code));
        else if (now > this.answeredBy) this.recorder.shedFor('late');
        else this.recorder.answeredInTime++;
      }
      this.settled();
      then();
    });
  }

  private serverStreamLoop(): void {
    if (this.stopping) return;
    this.serverStreamOnce(() => this.serverStreamLoop());
  }

  /** One server-streaming call: its latency runs from the request to the stream's OK status, after all its messages. */
  private serverStreamOnce(then: () => void): void {
    this.outstanding++;
    const t0 = performance.now();
    let messages = 0;
    const call = this.client.makeServerStreamRequest(SERVER_STREAM_PATH, raw, raw, this.options.request, this.metadata());
    call.on('data', () => messages++);
    call.on('error', () => {}); // the status below says it
    call.on('status', (status: grpc.StatusObject) => {
      // grpc-js emits each message as it arrives, before the status that follows them all.
      const code = status.code === grpc.status.OK && messages !== SERVER_STREAM_MESSAGES ? grpc.status.INTERNAL : status.code;
      this.options.onOutcome?.(code, 'call');
      if (this.measuring) {
        if (code !== grpc.status.OK) this.recorder.errors++;
        else this.recorder.record(performance.now() - t0);
      }
      this.settled();
      then();
    });
  }

  /**
   * Fires `send` at `rate` per second, on schedule (catching up after a late timer).
   * `countScheduled`: count each call scheduled while measuring (sent or not) in the recorder's `scheduled`.
   */
  private schedule(send: () => void, countScheduled: boolean): void {
    const interval = 1000 / this.options.rate;
    let next = performance.now();
    const tick = (): void => {
      if (this.stopping) return;
      const now = performance.now();
      while (next <= now) {
        next += interval;
        if (countScheduled && this.measuring) this.recorder.scheduled++;
        if (this.outstanding >= MAX_OUTSTANDING) {
          if (this.measuring) this.recorder.dropped++;
          if (countScheduled && this.measuring) this.recorder.shedFor('not sent');
          continue;
        }
        send();
      }
      this.timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  }

  private readonly pending = new WeakMap<object, number[]>();
  private readonly failed = new WeakSet<object>();

  private outstandingOn(stream: object): number {
    return this.pending.get(stream)?.length ?? 0;
  }

  /**
   * Opens a bidi stream. Closed loop: one message in flight, the next written when the
   * answer arrives. Open loop: returns a function that writes one message now.
   */
  private pingPong(closedLoop: boolean): () => void {
    let stream = this.openStream(closedLoop);
    const write = (): void => {
      if (this.failed.has(stream)) stream = this.openStream(closedLoop); // after a failed stream
      this.outstanding++;
      this.pending.get(stream)!.push(performance.now());
      stream.write(this.options.request);
    };
    if (closedLoop) write();
    return write;
  }

  private openStream(closedLoop: boolean): grpc.ClientDuplexStream<Buffer, Buffer> {
    const stream = this.client.makeBidiStreamRequest(PING_PONG_PATH, raw, raw, this.metadata());
    const sent: number[] = [];
    this.pending.set(stream, sent);
    this.streams.push(stream);
    stream.on('data', () => {
      const t0 = sent.shift()!;
      this.options.onOutcome?.(grpc.status.OK, 'message');
      if (this.measuring) this.recorder.record(performance.now() - t0);
      if (this.stopping) {
        if (sent.length === 0) stream.end();
      } else if (closedLoop) {
        this.outstanding++;
        sent.push(performance.now());
        stream.write(this.options.request);
      }
      this.settled();
    });
    const fail = (code: grpc.status): void => {
      if (this.failed.has(stream)) return;
      this.failed.add(stream);
      this.options.onOutcome?.(code, 'stream');
      for (let i = sent.length; i > 0; i--) {
        this.options.onOutcome?.(code, 'message');
        if (this.measuring) this.recorder.errors++;
        this.settled();
      }
      sent.length = 0;
      if (closedLoop && !this.stopping) this.pingPongAgain();
    };
    stream.on('error', (err: grpc.ServiceError) => fail(err.code));
    stream.on('status', (status: grpc.StatusObject) => {
      if (status.code !== grpc.status.OK) fail(status.code);
      else this.options.onOutcome?.(grpc.status.OK, 'stream');
    });
    return stream;
  }

  private pingPongAgain(): void {
    setTimeout(() => this.stopping || this.pingPong(true), 10);
  }
}
