import * as protobuf from 'protobufjs';
import type { Approval } from '../approvals/approval';
import type { ApprovalStore, DecideRefusal } from '../approvals/approval-store';
import { isApproverOf } from '../approvals/approver';
import { APPROVALS_PROTO_PATH, APPROVE, DENY, GET_APPROVAL, LIST_APPROVALS, WATCH_APPROVALS } from '../approvals/approvals-api';
import { errorMessage } from '../errors/unknown-error';
import { loadProtoRoot } from '../protos/proto-files';
import { grpcFrame } from '../relay/grpc-frames';
import { closeUnfinishedRequest, encodeGrpcMessage, refusalMessage, Status, type StatusCode } from '../relay/grpc-status';
import type { ApprovalActions } from './approval-actions';
import type { IdentifiedCall } from './call-context';
import type { CallDecisions } from './call-decisions';
import type { CallGuard } from './call-guard';
import { readUnaryRequest, respondUnary } from './unary-call';

export interface ApprovalsHandlerOptions {
  readonly store: ApprovalStore;
  readonly actions: ApprovalActions;
  readonly decisions: CallDecisions;
  /**
   * `limits.agentRate` (and an on-behalf-of token) apply to approvers' calls as to the Tasks
   * service's: one token of the approver's own bucket per call, a Watch counted once when it opens.
   */
  readonly guard?: CallGuard;
  readonly maxMessageBytes: number;
  /** Wall clock, ms. Default `Date.now`. */
  readonly clock?: () => number;
}

/** What may wait unread for a watcher before its Watch is ended. */
const WATCH_BUFFER_BYTES = 1024 * 1024;

/** The status an approver's refused Approve or Deny gets, by the store's reason. */
const REFUSAL_STATUS: Record<DecideRefusal, StatusCode> = {
  'not-found': Status.NOT_FOUND,
  expired: Status.FAILED_PRECONDITION,
  decided: Status.FAILED_PRECONDITION,
  'own-call': Status.PERMISSION_DENIED,
  'already-approved': Status.ALREADY_EXISTS,
};

/**
 * `toolgate.v1.Approvals` on the gateway's own listeners, for a call the pipeline has
 * authenticated, mapped and counted against its caller. An approver is a caller whose
 * principal is in the group the request's `@approval` permit names (its identity rule's
 * `groups`): others get PERMISSION_DENIED and see no request of that group, and nobody
 * approves or denies a call of their own (separation of duties). No Cedar decision: the
 * policy that escalated the call named who decides it. Each answer is one decision record;
 * an approval or denial is the `approval granted`/`approval denied` event naming the approver.
 */
export class ApprovalsHandler {
  private readonly list: protobuf.Type;
  private readonly idRequest: protobuf.Type;
  private readonly request: protobuf.Type;
  private readonly clock: () => number;

  constructor(private readonly options: ApprovalsHandlerOptions) {
    const root = loadProtoRoot([APPROVALS_PROTO_PATH]);
    this.list = root.lookupType('toolgate.v1.ListApprovalsResponse');
    this.idRequest = root.lookupType('toolgate.v1.ApprovalIdRequest');
    this.request = root.lookupType('toolgate.v1.ApprovalRequest');
    this.clock = options.clock ?? Date.now;
  }

  handle(call: IdentifiedCall): void {
    const { action } = call;
    if (action !== LIST_APPROVALS && action !== GET_APPROVAL && action !== APPROVE && action !== DENY && action !== WATCH_APPROVALS) {
      this.options.decisions.deny(call, Status.UNIMPLEMENTED, 'no such method');
      return;
    }
    this.serve(call).catch((err: unknown) => this.options.decisions.deny(call, Status.UNAVAILABLE, `approval store unavailable: ${errorMessage(err)}`));
  }

  private async serve(call: IdentifiedCall): Promise<void> {
    const { decisions, store, actions } = this.options;
    const { stream, action, decisionId } = call;
    const approver = call.caller.peer.spiffeId;
    const groups = new Set(call.principal.groups);
    const { guard } = this.options;
    if (guard?.applies(call.headers)) {
      const admission = await guard.admit(call.headers, approver, call.principalLabel, action, { countsTask: false });
      if ('refused' in admission) return decisions.refuse(call, admission);
      call.admission = admission;
    }
    let message: Buffer | undefined;
    try {
      message = await readUnaryRequest(stream, this.options.maxMessageBytes);
    } catch (err) {
      return decisions.deny(call, Status.INVALID_ARGUMENT, errorMessage(err));
    }
    if (message === undefined) return;
    const now = new Date(this.clock());
    if (action === WATCH_APPROVALS) return this.watch(call, groups, now);
    if (action === LIST_APPROVALS) {
      const pending = (await store.list(now)).filter((a) => a.state === 'pending' && isApproverOf(groups, a));
      decisions.record(call, { decision: 'allow', reason: `approver: ${pending.length} pending requests listed` });
      return respondUnary(stream, encode(this.list, { approvals: pending.map(approvalMessage) }));
    }
    let id: string;
    try {
      id = (this.idRequest.decode(message) as unknown as { approval_id: string }).approval_id;
    } catch (err) {
      return decisions.deny(call, Status.INVALID_ARGUMENT, `malformed request message: ${errorMessage(err)}`);
    }
    const approval = await store.get(id, now);
    if (approval === undefined) return decisions.deny(call, Status.NOT_FOUND, `no such approval request ${JSON.stringify(id.slice(0, 40))}`);
    if (!isApproverOf(groups, approval)) {
      decisions.record(call, { approval: id, decision: 'deny', status: Status.PERMISSION_DENIED, reason: `not an approver of group "${approval.group}"` });
      return this.end(call, Status.PERMISSION_DENIED);
    }
    if (action === GET_APPROVAL) {
      decisions.record(call, { approval: id, decision: 'allow', reason: `approver of group "${approval.group}"` });
      return respondUnary(stream, encode(this.request, approvalMessage(approval)));
    }
    const result = action === APPROVE ? await actions.approve(id, approver, decisionId) : await actions.deny(id, approver, decisionId);
    if (!result.ok) {
      const code = REFUSAL_STATUS[result.reason];
      decisions.record(call, { approval: id, decision: 'deny', status: code, reason: `${action === APPROVE ? 'approve' : 'deny'} refused: ${result.reason}` });
      return this.end(call, code);
    }
    respondUnary(stream, encode(this.request, approvalMessage(result.approval)));
  }

  /**
   * Streams the pending requests of the approver's groups, then each of their requests as it
   * is made or decided, until the caller cancels. A watcher that does not read is ended
   * (RESOURCE_EXHAUSTED) once `WATCH_BUFFER_BYTES` wait for it, rather than buffered without bound.
   */
  private async watch(call: IdentifiedCall, groups: ReadonlySet<string>, now: Date): Promise<void> {
    const { store, decisions } = this.options;
    const { stream } = call;
    const initial = (await store.list(now)).filter((a) => a.state === 'pending' && isApproverOf(groups, a));
    if (stream.closed || stream.destroyed) return;
    decisions.record(call, { decision: 'allow', reason: `approver: watching ${[...groups].join(', ') || 'no group'}` });
    let trailers = { 'grpc-status': String(Status.OK), 'grpc-message': '' };
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      stream.sendTrailers(trailers);
      closeUnfinishedRequest(stream);
    });
    const send = (approval: Approval) => {
      if (stream.closed || stream.destroyed || stream.writableEnded || !isApproverOf(groups, approval)) return;
      if (stream.writableLength > WATCH_BUFFER_BYTES) {
        trailers = { 'grpc-status': String(Status.RESOURCE_EXHAUSTED), 'grpc-message': encodeGrpcMessage(refusalMessage(Status.RESOURCE_EXHAUSTED, call.decisionId)) };
        stream.end();
        return;
      }
      stream.write(grpcFrame(encode(this.request, approvalMessage(approval))));
    };
    const changed = (id: string) => {
      store.get(id, new Date(this.clock())).then(
        (approval) => approval && send(approval),
        () => undefined,
      );
    };
    const stops = [store.onCreated(changed), store.onDecided(changed)];
    stream.once('close', () => stops.forEach((stop) => stop()));
    initial.forEach(send);
  }

  /** Ends a refused call already recorded, with the status and the decision id only. */
  private end(call: IdentifiedCall, code: StatusCode): void {
    this.options.decisions.endRecorded(call, code);
  }
}

function approvalMessage(approval: Approval): Record<string, unknown> {
  return {
    approval_id: approval.id,
    state: approval.state,
    caller: approval.caller,
    principal: approval.principal,
    action: approval.action,
    upstream: approval.resource,
    task_id: approval.task ?? '',
    group: approval.group,
    quorum: approval.quorum,
    policies: [...approval.policies],
    approvers: [...approval.approvers],
    denied_by: approval.deniedBy ?? '',
    created_at: timestamp(approval.createdAt),
    expires_at: timestamp(approval.expiresAt),
  };
}

function timestamp(date: Date): { seconds: number; nanos: number } {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

function encode(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}
