import { TrustDomain } from '../spiffe/id';
import { DEFAULTS } from './defaults';
import { existingFile } from './file-paths';
import { parseJwksUri, type OidcIssuerConfig } from '../identity/oidc-issuer';
import type { OidcWorkloadIssuerConfig } from '../identity/workload-token-authenticator';
import type { GatewayConfig } from './gateway-config';
import { parseHostPort } from '../net/host-port';
import type { IssueList } from './issue-list';
import type { KeyPath } from './key-path';
import { asList, asRecord, asString, type RawRecord } from './raw-value';

/** `workloadTokens`: the token listener, JWT-SVIDs, and OIDC workload issuers. */
export function resolveWorkloadTokens(value: unknown, baseDir: string, issues: IssueList): GatewayConfig['workloadTokens'] {
  if (value === undefined || value === null) return undefined;
  const raw = asRecord(value);
  const address = asString(raw.listen);
  const listen =
    address === undefined
      ? undefined
      : issues.check(['workloadTokens', 'listen'], `invalid address ${JSON.stringify(address)}`, () => parseHostPort(address, { allowPortZero: true }));
  const oidc = asList(raw.oidc).flatMap((item, i): OidcWorkloadIssuerConfig[] => {
    const path: KeyPath = ['workloadTokens', 'oidc', i];
    const entry = asRecord(item);
    const issuer = resolveOidcIssuer(entry, path, baseDir, issues);
    const name = asString(entry.trustDomain);
    const trustDomain = name === undefined ? undefined : issues.check([...path, 'trustDomain'], `invalid trust domain ${JSON.stringify(name)}`, () => TrustDomain.parse(name));
    return issuer && trustDomain ? [{ ...issuer, trustDomain }] : [];
  });
  const jwtSvid = (raw.jwtSvid as boolean | undefined) ?? DEFAULTS.workloadJwtSvid;
  if (!jwtSvid && asList(raw.oidc).length === 0) issues.add(['workloadTokens'], 'accepts no token: enable jwtSvid or list an oidc issuer');
  return listen ? { listen, jwtSvid, oidc } : undefined;
}

/** One OIDC issuer: its JWKS from exactly one of an https (or loopback http) URL and a file. */
export function resolveOidcIssuer(raw: RawRecord, path: KeyPath, baseDir: string, issues: IssueList): OidcIssuerConfig | undefined {
  const issuer = asString(raw.issuer);
  const audience = asString(raw.audience);
  const uri = asString(raw.jwksUri);
  const file = asString(raw.jwksFile);
  if ((uri === undefined) === (file === undefined)) {
    issues.add(path, 'set exactly one of jwksUri and jwksFile');
    return undefined;
  }
  const jwks: Pick<OidcIssuerConfig, 'jwksUri' | 'jwksFile'> | undefined =
    uri !== undefined
      ? issues.check([...path, 'jwksUri'], `invalid JWKS URL ${JSON.stringify(uri)}`, () => ({ jwksUri: parseJwksUri(uri).href }))
      : issues.check([...path, 'jwksFile'], undefined, () => ({ jwksFile: existingFile(file!, baseDir) }));
  return issuer !== undefined && audience !== undefined && jwks ? { issuer, audience, ...jwks } : undefined;
}
