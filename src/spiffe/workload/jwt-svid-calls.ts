import { JwtSvidError } from '../errors';
import { SpiffeId } from '../id/spiffe-id';
import { JwtSvid } from '../jwt/jwt-svid';
import type { WireClient } from './wire-client';

/** What to ask `FetchJWTSVID` for. */
export interface JwtSvidParams {
  /** One or more audiences; at least one is required. */
  audience: string | readonly string[];
  /** Ask for this identity only; default every identity the workload has. */
  spiffeId?: SpiffeId | string;
}

/**
 * `FetchJWTSVID`, parsed: every JWT-SVID the endpoint returns (one per identity, or just
 * `spiffeId`'s). Each is read with `JwtSvid.parseInsecure` (the endpoint is trusted) and must
 * name the identity the endpoint says it is for. Rejects with `WorkloadApiError` (e.g.
 * PermissionDenied) or `JwtSvidError`. Shared by `JwtSource` and `WorkloadApiClient`.
 */
export async function fetchJwtSvids(client: WireClient, params: JwtSvidParams): Promise<JwtSvid[]> {
  const audience = typeof params.audience === 'string' ? [params.audience] : [...params.audience];
  if (audience.length === 0 || audience.includes('')) throw new JwtSvidError('jwtsvid: audience must be specified');
  const wanted = params.spiffeId === undefined ? undefined : SpiffeId.parse(params.spiffeId.toString()).toString();

  const response = await client.fetchJwtSvid({ audience, spiffeId: wanted });
  if (response.svids.length === 0) throw new JwtSvidError('FetchJWTSVID returned no JWT-SVIDs');
  return response.svids.map((raw) => {
    const svid = JwtSvid.parseInsecure(raw.svid, audience, raw.hint);
    const id = svid.id.toString();
    if (id !== raw.spiffe_id || (wanted !== undefined && id !== wanted)) {
      throw new JwtSvidError(`FetchJWTSVID returned a token for "${id}" as "${raw.spiffe_id}"${wanted ? ` (asked for "${wanted}")` : ''}`);
    }
    return svid;
  });
}

/**
 * `ValidateJWTSVID` (which the spec prefers over local validation): the endpoint validates a
 * peer's token, and it comes back parsed, as go-spiffe returns it. Rejects with
 * `WorkloadApiError` (InvalidArgument) for an invalid token, and with `JwtSvidError` when the
 * endpoint vouches for an identity the token does not name.
 */
export async function validateJwtSvidRemotely(client: WireClient, token: string, audience: string): Promise<JwtSvid> {
  const { spiffeId } = await client.validateJwtSvid(token, audience);
  const svid = JwtSvid.parseInsecure(token, audience);
  if (svid.id.toString() !== spiffeId) {
    throw new JwtSvidError(`ValidateJWTSVID vouched for "${spiffeId}" but the token names "${svid.id}"`);
  }
  return svid;
}
