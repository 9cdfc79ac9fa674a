import * as protobuf from 'protobufjs';

/** The trailer gRPC's rich error model puts a serialized `google.rpc.Status` in (base64, as every `-bin` header). */
export const STATUS_DETAILS_HEADER = 'grpc-status-details-bin';

/** `google.rpc.ErrorInfo`: why, in a stable machine-readable reason, with facts to act on. */
export interface ErrorInfo {
  /** UPPER_SNAKE_CASE, e.g. `APPROVAL_REQUIRED`. */
  readonly reason: string;
  /** Who defines the reason, e.g. `toolgate.dev`. */
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** google/rpc/status.proto and error_details.proto, the two messages needed, as protobufjs reflection. */
const RPC: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } } },
            ErrorInfo: {
              fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IField },
            },
          },
        },
      },
    },
  },
};
const root = protobuf.Root.fromJSON(RPC);
const StatusType = root.lookupType('google.rpc.Status');
const ErrorInfoType = root.lookupType('google.rpc.ErrorInfo');
const ERROR_INFO_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

/**
 * The value of `grpc-status-details-bin` for a status carrying one `google.rpc.ErrorInfo`:
 * base64 of the serialized `google.rpc.Status { code, message, details: [Any(ErrorInfo)] }`.
 * `code` and `message` must be the call's own `grpc-status` and `grpc-message`.
 */
export function statusDetails(code: number, message: string, info: ErrorInfo): string {
  const value = ErrorInfoType.encode(ErrorInfoType.fromObject({ reason: info.reason, domain: info.domain, metadata: { ...info.metadata } })).finish();
  const status = StatusType.fromObject({ code, message, details: [{ type_url: ERROR_INFO_URL, value }] });
  return Buffer.from(StatusType.encode(status).finish()).toString('base64');
}

/** Reads back the ErrorInfo of a `google.rpc.Status` (what a client does; tests, the demo). */
export function errorInfoOf(status: Uint8Array): (ErrorInfo & { code: number; message: string }) | undefined {
  const decoded = StatusType.toObject(StatusType.decode(status), { defaults: true }) as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
  const any = decoded.details.find((d) => d.type_url === ERROR_INFO_URL);
  if (any === undefined) return undefined;
  const info = ErrorInfoType.toObject(ErrorInfoType.decode(any.value), { defaults: true }) as ErrorInfo;
  return { code: decoded.code, message: decoded.message, reason: info.reason, domain: info.domain, metadata: info.metadata };
}
