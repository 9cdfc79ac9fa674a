import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { TASKS_PROTO_PATH } from './tasks-api';

const definition = loadSync(TASKS_PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  toolgate: { v1: { Tasks: grpc.ServiceClientConstructor } };
};

/** The `toolgate.v1.Tasks` client constructor, for agents (and the demo) to begin and end tasks. */
export const TasksClient = pkg.toolgate.v1.Tasks;

/** BeginTask's answer as the client sees it (proto-loader: camelCase, longs as numbers). */
export interface BeginTaskReply {
  taskId: string;
  token: string;
  expiresAt: { seconds: number; nanos: number };
}

/** GetTask's answer. */
export interface TaskReply {
  taskId: string;
  intent: string;
  tools: string[];
  callsUsed: number;
  callsRemaining: number;
  ended: boolean;
  ownerSpiffeId: string;
}

/** The metadata that makes a call part of a task: its token as `x-toolgate-task`. */
export function taskMetadata(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-toolgate-task', token);
  return metadata;
}
