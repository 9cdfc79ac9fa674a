/*
 * Type tests of `toolgate/spiffe`, checked by `npm run typecheck` (tsc covers test/): each
 * `@ts-expect-error` line must fail to compile, so a wire type, a stream handler or the dev
 * provider that leaks back into the public entry, or a loosened type, breaks the build.
 */
import * as spiffe from '../../src/spiffe/index';
import * as dev from '../../src/spiffe/dev/index';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | void {}

// ---- what the entry must not export ----

// @ts-expect-error Workload API wire messages are internal
export type NoWireMessage = spiffe.X509SVIDResponse;
// @ts-expect-error stream handlers are internal
export type NoStreamHandlers = spiffe.StreamHandlers<unknown>;
// @ts-expect-error the raw client is internal
export type NoWireClient = spiffe.WireClient;
// @ts-expect-error the dev identity provider is `toolgate/spiffe/dev`
export const noDevProvider = spiffe.DevIdentityProvider;
// @ts-expect-error lower-level TLS pieces are internal
export const noVerifyPeer = spiffe.verifyPeer;
export const devProvider: typeof dev.DevIdentityProvider = dev.DevIdentityProvider;

// ---- errors: a stable literal code on each ----

assertType<Equal<spiffe.SpiffeIdError['code'], 'ERR_SPIFFE_ID'>>();
assertType<Equal<spiffe.X509SvidError['code'], 'ERR_X509_SVID'>>();
assertType<Equal<spiffe.WorkloadApiError['grpcCode'], number>>();
// @ts-expect-error the code is a literal, not any string
export const wrongCode: spiffe.BundleError['code'] = 'ERR_SOURCE';

// ---- sources satisfy go-spiffe's one-method interfaces, and only theirs ----

export function sources(x509: spiffe.X509Source, jwt: spiffe.JwtSource, set: spiffe.X509BundleSet): void {
  const svids: spiffe.X509SvidSource = x509;
  const bundles: spiffe.X509BundleSource = x509;
  const fromSet: spiffe.X509BundleSource = set;
  const jwtBundles: spiffe.JwtBundleSource = jwt;
  // @ts-expect-error an X509Source holds no JWT bundles
  const wrong: spiffe.JwtBundleSource = x509;
  // @ts-expect-error a bundle set holds no SVID
  const noSvid: spiffe.X509SvidSource = set;
  void [svids, bundles, fromSet, jwtBundles, wrong, noSvid];
}

// ---- the public WorkloadApiClient speaks parsed types only ----

export function client(c: spiffe.WorkloadApiClient): void {
  assertType<Equal<ReturnType<typeof c.fetchX509Context>, Promise<spiffe.X509Context>>>();
  assertType<Equal<ReturnType<typeof c.fetchJwtBundles>, Promise<spiffe.JwtBundleSet>>>();
  assertType<Equal<ReturnType<typeof c.validateJwtSvid>, Promise<spiffe.JwtSvid>>>();
  assertType<Equal<spiffe.X509Context['svids'], spiffe.X509Svid[]>>();
  // @ts-expect-error no raw stream method
  void c.watchX509Svids;
  // @ts-expect-error the audience is required
  void c.fetchJwtSvid({});
}

// ---- authorizers are plain functions over a verified ID ----

assertType<Equal<spiffe.Authorizer, (id: spiffe.SpiffeId, verifiedChain: readonly import('node:crypto').X509Certificate[]) => void>>();
// @ts-expect-error authorizeId takes an ID, not a trust domain object
spiffe.authorizeId(spiffe.TrustDomain.parse('example.org'));
