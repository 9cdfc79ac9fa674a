import { createHash } from 'node:crypto';
import { requestDigest, requestDigestBytes } from '../observability/request-digest';

/** The exact call an approval is for (docs/approvals.md, "The digest"). */
export type ApprovedCall = {
  /** The caller's SPIFFE ID. */
  readonly caller: string;
  /** `Agent::"name"` or `Workload::"spiffe id"`. */
  readonly principal: string;
  /** `package.Service/Method`. */
  readonly action: string;
  /** The upstream's name. */
  readonly upstream: string;
  /** The task id, when the call runs under a task. */
  readonly task?: string;
  /**
   * The on-behalf-of user (`x-toolgate-on-behalf-of`), as `<iss>#<sub>`, when the call carries
   * one: an approver agrees to the agent acting for that person, and the tool's call token
   * names them (`obo`), so a retry for another user is another call.
   */
  readonly onBehalfOf?: string;
} & (
  | {
      /** The request message exactly as the relay would forward it: the gateway's canonical re-encoding, uncompressed. */
      readonly message: Uint8Array;
    }
  | {
      /** Its `requestDigest` (`sha256:<hex>`), when the caller has it already: the message is hashed once, not twice. */
      readonly requestDigest: string;
    }
);

const DOMAIN = 'toolgate-approval-v2';

/**
 * sha256, hex, over `toolgate-approval-v2` then each of caller, principal, action, upstream,
 * task (empty without one: task ids are never empty), on-behalf-of user (`<iss>#<sub>`, empty
 * without one) and the 32 bytes of the message's
 * SHA-256, each as a 4-byte big-endian length followed by its bytes (strings in UTF-8).
 * Length prefixes make the encoding unambiguous: no boundary can move between fields without
 * changing the digest. The message is the canonical encoding (relay/canonical-encode.ts), so
 * two requests a tool would parse alike have one digest, and any changed argument another.
 * Its SHA-256 is the `requestDigest` of the call's decision records: an auditor recomputes
 * an approval's digest from a record alone, and the gateway hashes the message once.
 */
export function approvalDigest(call: ApprovedCall): string {
  const hash = createHash('sha256');
  hash.update(DOMAIN);
  for (const field of [call.caller, call.principal, call.action, call.upstream, call.task ?? '', call.onBehalfOf ?? '']) put(hash, Buffer.from(field, 'utf8'));
  put(hash, requestDigestBytes('requestDigest' in call ? call.requestDigest : requestDigest(call.message)));
  return hash.digest('hex');
}

function put(hash: ReturnType<typeof createHash>, bytes: Uint8Array): void {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  hash.update(length);
  hash.update(bytes);
}

/** The on-behalf-of user as the digest binds it: issuer and subject, the issuer first (an issuer URL holds no `#`). */
export function approvedUser(user: { readonly issuer: string; readonly subject: string } | undefined): { onBehalfOf: string } | undefined {
  return user === undefined ? undefined : { onBehalfOf: `${user.issuer}#${user.subject}` };
}
