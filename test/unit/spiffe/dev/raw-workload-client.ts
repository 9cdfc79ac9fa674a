import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { newSpiffeWorkloadApiClient, type SpiffeWorkloadAPIClient } from '../../../../src/spiffe/workload/proto';
import { splitDer } from '../../../../src/spiffe/x509/der';

/** A bare grpc-js client of the Workload API (no toolgate client code), for testing the server. */
export function rawClient(address: string): SpiffeWorkloadAPIClient {
  const target = address.startsWith('tcp://') ? address.slice('tcp://'.length) : address;
  return newSpiffeWorkloadApiClient(target, grpc.credentials.createInsecure());
}

export function metadataWith(...headerValues: string[]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const v of headerValues) md.add('workload.spiffe.io', v);
  return md;
}

/** Buffers a server stream so a test can await its messages and its final status in order. */
export class StreamReader<T> {
  private readonly buffered: T[] = [];
  private failure: grpc.ServiceError | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly stream: grpc.ClientReadableStream<T>) {
    stream.on('data', (message: T) => {
      this.buffered.push(message);
      this.wake?.();
    });
    // 'status' also reports a normal end (OK), which raises no 'error'.
    stream.on('status', (status: grpc.StatusObject) => {
      this.failure ??= Object.assign(new Error(status.details), status);
      this.wake?.();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      this.failure ??= err;
      this.wake?.();
    });
  }

  /** The next message; rejects with the stream's error if it ends first. */
  async next(): Promise<T> {
    while (this.buffered.length === 0) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.buffered.shift()!;
  }

  /** The status the stream ended with (an OK one too); buffered messages are left alone. */
  async status(): Promise<grpc.ServiceError> {
    while (this.failure === undefined) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.failure;
  }

  get pending(): number {
    return this.buffered.length;
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** A unary call as a promise (grpc-js's callback style). */
export function unary<Res>(call: (callback: grpc.requestCallback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    call((err, res) => (err ? reject(err) : resolve(res!)));
  });
}

/** The certificates of a concatenated-DER wire field (`x509_svid`, `bundle`). */
export function certificatesOf(buf: Buffer): X509Certificate[] {
  return splitDer(buf).map((der) => new X509Certificate(der));
}
