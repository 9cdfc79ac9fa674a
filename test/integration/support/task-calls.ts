import * as grpc from '@grpc/grpc-js';
import { TasksClient, taskMetadata, type BeginTaskReply, type TaskReply } from '../../../src/tasks/tasks-client';
import type { GatewayWorld } from './gateway-world';

type Callback<T> = (err: grpc.ServiceError | null, reply: T) => void;
type Dynamic = Record<string, (...args: unknown[]) => unknown>;

/** A unary call with metadata through a dynamic client, as a promise. */
export function call<T>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<T> {
  const fn = (client as unknown as Dynamic)[method]!;
  return new Promise((resolve, reject) => fn.call(client, request, metadata, ((err, reply) => (err ? reject(err) : resolve(reply))) as Callback<T>));
}

/** The status code a rejected call failed with. */
export async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return grpc.status.OK;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  }
}

/** The Tasks service through the gateway, as the workload `id`, with typed methods. */
export async function tasksOf(world: GatewayWorld, id: string) {
  const client = world.client(TasksClient, await world.spiffe.workload(id));
  return {
    begin: (request: { intent?: string; tools: string[]; ttlSeconds: number; budget?: object }, metadata?: grpc.Metadata) =>
      call<BeginTaskReply>(client, 'beginTask', { intent: 'test', ...request }, metadata),
    end: (taskId: string) => call<object>(client, 'endTask', { taskId }),
    get: (taskId: string) => call<TaskReply>(client, 'getTask', { taskId }),
  };
}

export { taskMetadata };

/** The status a Files/ListDir server stream through `client` ends with (its entries are drained). */
export function listDirStatus(client: grpc.Client, metadata?: grpc.Metadata): Promise<number> {
  return new Promise<number>((resolve) => {
    const stream = (client as unknown as { listDir: (r: object, m?: grpc.Metadata) => grpc.ClientReadableStream<unknown> }).listDir({ path: '/' }, metadata);
    stream.on('data', () => {});
    stream.on('error', (e: grpc.ServiceError) => resolve(e.code));
    stream.on('end', () => resolve(grpc.status.OK));
  });
}
