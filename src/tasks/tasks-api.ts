import { resolve } from 'node:path';

/** The gateway's own task API (proto/toolgate/v1/tasks.proto), served on its listener. */
export const TASKS_SERVICE = 'toolgate.v1.Tasks';
export const BEGIN_TASK = `${TASKS_SERVICE}/BeginTask`;
export const END_TASK = `${TASKS_SERVICE}/EndTask`;
export const GET_TASK = `${TASKS_SERVICE}/GetTask`;
/** The Cedar resource of the gateway's own services: `Tool::"toolgate"`; no upstream may take the name. */
export const GATEWAY_RESOURCE = 'toolgate';
export const TASKS_PROTO_PATH = resolve(__dirname, '../../proto/toolgate/v1/tasks.proto');
