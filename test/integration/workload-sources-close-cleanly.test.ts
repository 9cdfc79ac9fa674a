import { DevIdentityProvider } from '../../src/spiffe/dev/identity-provider';
import { SourceError } from '../../src/spiffe/errors';
import { exponentialBackoff } from '../../src/spiffe/workload/backoff';
import { JwtSource } from '../../src/spiffe/workload/jwt-source';
import { X509Source } from '../../src/spiffe/workload/x509-source';
import { ENDPOINT_KINDS, listenAddress, sleep } from './support/workload-fixtures';

/** Handles that keep the event loop alive, by kind (timers, sockets, ...), as a sorted list. */
function liveResources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'TTYWrap')
    .sort();
}

/** The handles alive now beyond those in `baseline` (counted per kind). */
function beyond(baseline: string[]): string[] {
  const left = [...baseline];
  return liveResources().filter((r) => {
    const i = left.indexOf(r);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** The handles once setup's own passing timers and immediates are done. */
async function quiet(): Promise<string[]> {
  await sleep(200);
  return liveResources();
}

/**
 * The handles left behind beyond `baseline`, once teardown (asynchronous, and slower on a
 * loaded machine) has had up to 3 s. Handles of the baseline that end meanwhile (a
 * passing timer or immediate) are not counted against it.
 */
async function leftBehind(baseline: string[]): Promise<string[]> {
  for (let i = 0; i < 300 && beyond(baseline).length > 0; i++) await sleep(10);
  return beyond(baseline);
}

describe.each(ENDPOINT_KINDS)('closing the sources over %s', (kind) => {
  it('leaves no open handle behind: no stream, no socket, no reconnect timer', async () => {
    const provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    const listen = listenAddress(kind);
    const api = await provider.serve('spiffe://example.org/agent', listen.address);
    try {
      const baseline = await quiet();

      const x509 = await X509Source.create({ address: api.address });
      const jwt = await JwtSource.create({ address: api.address });
      await jwt.fetchJwtSvid({ audience: 'tools' });
      expect(liveResources().length).toBeGreaterThan(baseline.length);
      x509.close();
      jwt.close();
      expect(await leftBehind(baseline)).toEqual([]);
    } finally {
      await provider.close();
      listen.cleanup();
    }
  });

  it('leaves none behind when create() is aborted while waiting to reconnect', async () => {
    const provider = await DevIdentityProvider.create({ trustDomain: 'example.org' });
    const listen = listenAddress(kind);
    const api = await provider.serveNoIdentity(listen.address);
    try {
      const baseline = await quiet();
      const abort = new AbortController();
      const created = X509Source.create({
        address: api.address,
        backoff: exponentialBackoff({ initialMs: 5000, maxMs: 5000 }),
        timeoutMs: Infinity,
        signal: abort.signal,
      });
      await api.waitForCalls('FetchX509SVID', 1);
      await sleep(50); // PermissionDenied came back; the watcher now waits 2.5–5 s to retry
      expect(liveResources()).toContain('Timeout');

      abort.abort();
      await expect(created).rejects.toMatchObject({
        constructor: SourceError,
        message: 'aborted while waiting for the first X.509-SVID: FetchX509SVID: PERMISSION_DENIED: no identity issued',
      });
      expect(await leftBehind(baseline)).toEqual([]);
      expect(api.callsTo('FetchX509SVID')).toHaveLength(1);
    } finally {
      await provider.close();
      listen.cleanup();
    }
  });
});
