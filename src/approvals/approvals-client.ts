import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { APPROVALS_PROTO_PATH } from './approvals-api';

const definition = loadSync(APPROVALS_PROTO_PATH, { keepCase: false, longs: Number, enums: String, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  toolgate: { v1: { Approvals: grpc.ServiceClientConstructor } };
};

/** The `toolgate.v1.Approvals` client constructor, for approvers (a bot, a console's backend). */
export const ApprovalsClient = pkg.toolgate.v1.Approvals;

/** An approval request as the client sees it (proto-loader: camelCase, longs as numbers). */
export interface ApprovalReply {
  approvalId: string;
  state: 'pending' | 'approved' | 'denied' | 'consumed' | 'expired';
  caller: string;
  principal: string;
  action: string;
  upstream: string;
  taskId: string;
  group: string;
  quorum: number;
  policies: string[];
  approvers: string[];
  deniedBy: string;
  createdAt: { seconds: number; nanos: number };
  expiresAt: { seconds: number; nanos: number };
}

/** The metadata an agent retries an escalated call with, once approved: `x-toolgate-approval: <id>`. */
export function approvalMetadata(approvalId: string, metadata = new grpc.Metadata()): grpc.Metadata {
  metadata.set('x-toolgate-approval', approvalId);
  return metadata;
}
