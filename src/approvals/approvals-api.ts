import { resolve } from 'node:path';

/** The approvers' service (proto/toolgate/v1/approvals.proto), served on the gateway's listeners. */
export const APPROVALS_SERVICE = 'toolgate.v1.Approvals';
export const LIST_APPROVALS = `${APPROVALS_SERVICE}/List`;
export const GET_APPROVAL = `${APPROVALS_SERVICE}/Get`;
export const APPROVE = `${APPROVALS_SERVICE}/Approve`;
export const DENY = `${APPROVALS_SERVICE}/Deny`;
export const WATCH_APPROVALS = `${APPROVALS_SERVICE}/Watch`;
export const APPROVALS_PROTO_PATH = resolve(__dirname, '../../proto/toolgate/v1/approvals.proto');
