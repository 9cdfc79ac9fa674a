import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIdentityProvider, type DevIdentityProviderOptions } from '../../../src/spiffe/dev/identity-provider';
import { X509Source } from '../../../src/spiffe/workload/x509-source';

/**
 * A dev identity provider plus one X509Source per workload, each fed from its own
 * Workload API socket in a temp dir: what a SPIRE agent gives workloads on a node.
 */
export class SpiffeWorld {
  private readonly sources: X509Source[] = [];

  private constructor(
    readonly provider: DevIdentityProvider,
    /** A temp dir removed by `close()`, for sockets and files of the test. */
    readonly tempDir: string,
  ) {}

  static async create(options: Partial<DevIdentityProviderOptions> = {}): Promise<SpiffeWorld> {
    const provider = await DevIdentityProvider.create({ trustDomain: 'example.org', ...options });
    return new SpiffeWorld(provider, mkdtempSync(join(tmpdir(), 'tg-world-')));
  }

  /** An X509Source for a workload that is `id`. */
  async workload(id: string): Promise<X509Source> {
    const socket = `unix://${join(this.tempDir, `${this.sources.length}.sock`)}`;
    const api = await this.provider.serve(id, socket);
    const source = await X509Source.create({ address: api.address, timeoutMs: 5000 });
    this.sources.push(source);
    return source;
  }

  async close(): Promise<void> {
    for (const source of this.sources) source.close();
    await this.provider.close();
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}
