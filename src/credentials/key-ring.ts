import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { SigningKeys } from '../tasks/signing-keys';
import type { Clock } from '../tasks/task';
import { errorCode } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';

export interface KeyRingOptions {
  /**
   * A mounted secret holding an EC P-256 private JWK, or a JWK Set of them whose first key
   * signs and whose other keys are published as upcoming (the next secret's key, put in the
   * JWKS before it signs), so that replicas share the keys. Without it a key is generated at
   * start and rotated every `rotateSeconds`, the next one published a period ahead.
   */
  readonly signingKeyFile?: string;
  /** How often a generated key is replaced; 0: never. Ignored with `signingKeyFile`. */
  readonly rotateSeconds: number;
  /** How long a replaced key stays in the JWKS for verification. */
  readonly retainSeconds: number;
  /** Defaults to `Date.now`. */
  readonly clock?: Clock;
}

/** A signing key file that cannot be used. The message names the file and the problem, never key material. */
export class SigningKeyFileError extends ToolgateError<'ERR_SIGNING_KEY_FILE'> {
  constructor(
    readonly file: string,
    problem: string,
    options: { cause?: unknown } = {},
  ) {
    super('ERR_SIGNING_KEY_FILE', `signing key file ${file}: ${problem}`, options);
  }
}

/**
 * The gateway's signing-key ring (`keys`, shared by task tokens and call tokens) and what
 * keeps it current: a timer that rotates a generated key, or `reloadFile()` that follows
 * a mounted secret.
 */
export class KeyRing {
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly keys: SigningKeys,
    private readonly file: string | undefined,
  ) {}

  static async create(options: KeyRingOptions): Promise<KeyRing> {
    const clock = options.clock ?? Date.now;
    checkSeconds('retainSeconds', options.retainSeconds);
    const ringOptions = { retainSeconds: options.retainSeconds };
    if (options.signingKeyFile !== undefined) {
      const file = options.signingKeyFile;
      const [signing, ...upcoming] = await readSigningKeyFile(file);
      const keys = await fileError(file, SigningKeys.fromJwk(signing!, clock, ringOptions));
      await fileError(file, keys.setUpcoming(upcoming));
      return new KeyRing(keys, file);
    }
    checkSeconds('rotateSeconds', options.rotateSeconds);
    const keys = await SigningKeys.generate(clock, ringOptions);
    const ring = new KeyRing(keys, undefined);
    if (options.rotateSeconds > 0) {
      // The next key is in the JWKS a whole period before it signs.
      await keys.prepare();
      const tick = async () => {
        await keys.rotate();
        await keys.prepare();
      };
      ring.#timer = setInterval(() => void tick().catch(() => undefined), options.rotateSeconds * 1000);
      ring.#timer.unref();
    }
    return ring;
  }

  /** The signing key file, when the ring follows one. */
  get signingKeyFile(): string | undefined {
    return this.file;
  }

  /**
   * Re-reads the signing key file and makes its (first) key current when its `kid` changed
   * (a rotated Kubernetes Secret), and its other keys the upcoming ones; the old key stays in
   * the JWKS for `retainSeconds`. Resolves to whether the signing key changed. A ring without a file does nothing. On error the ring keeps
   * its key and the error (`SigningKeyFileError`) names the file and the problem.
   */
  async reloadFile(): Promise<boolean> {
    if (this.file === undefined) return false;
    const [signing, ...upcoming] = await readSigningKeyFile(this.file);
    const before = this.keys.currentKid;
    const after = await fileError(this.file, this.keys.rotate(signing));
    await fileError(this.file, this.keys.setUpcoming(upcoming));
    return after !== before;
  }

  /** Stops the rotation timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The private JWKs in `file` (at least one; the first signs): a private JWK, or a JWK Set. */
export async function readSigningKeyFile(file: string): Promise<JWK[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    throw new SigningKeyFileError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: it could hold key material.
    throw new SigningKeyFileError(file, 'is not JSON (expected an EC P-256 private JWK or a JWK Set)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SigningKeyFileError(file, 'is not a JSON object (expected an EC P-256 private JWK or a JWK Set)');
  }
  if (!('keys' in parsed)) return [checkedJwk(file, parsed, 'the key')];
  const keys = (parsed as { keys: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new SigningKeyFileError(file, '"keys" must be a non-empty array');
  return keys.map((key: unknown, i) => checkedJwk(file, key, `key ${i}`));
}

function checkedJwk(file: string, value: unknown, which: string): JWK {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SigningKeyFileError(file, `${which} is not a JSON object`);
  const jwk = value as JWK;
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw new SigningKeyFileError(file, `${which} must be an EC P-256 JWK (kty EC, crv P-256)`);
  if (typeof jwk.d !== 'string') throw new SigningKeyFileError(file, `${which} has no private part ("d"): a public key cannot sign`);
  return jwk;
}

async function fileError<T>(file: string, pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (err) {
    // SigningKeys' messages name no key material.
    throw new SigningKeyFileError(file, err instanceof Error ? err.message : 'the key cannot be used', { cause: err });
  }
}

function checkSeconds(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number of seconds >= 0, not ${value}`);
}
