import { KeyObject, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Clock } from './task';
import { TaskError } from './task-errors';

export const SIGNING_ALGORITHM = 'ES256';

/** A public JWK as published: no private member, with `kid`, `alg` and `use`. */
export interface PublicJwk extends JWK {
  readonly kid: string;
  readonly alg: typeof SIGNING_ALGORITHM;
  readonly use: 'sig';
}

export interface SigningKeysOptions {
  /**
   * How long a key stays in the ring for verification after it stops signing. Must exceed
   * the longest a token it signed can stay valid, the TTL cap plus the token leeway (5 s),
   * since a token may have been minted just before the rotation. Default 3600.
   */
  readonly retainSeconds?: number;
}

interface RingKey {
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly publicKey: CryptoKey;
  /** When it stopped signing; undefined for the current key. */
  retiredAt?: number;
}

const DEFAULT_RETAIN_SECONDS = 3600;
/** Private JWK members (EC `d`, and RSA's in case one is handed in by mistake). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * The ES256 keys that sign task tokens and call tokens: one current key that signs, and the previous keys,
 * kept for verification until no token they signed can still be valid (`retainSeconds`
 * after they were rotated out). Private keys are non-extractable when generated here, held
 * in private fields, and left out of `toJSON` and `util.inspect`; only `jwks()` leaves, and
 * it holds public members only.
 */
export class SigningKeys {
  #currentPrivate: CryptoKey;
  /** `#currentPrivate` as a node:crypto KeyObject, made on first use and dropped on rotation. */
  #currentKeyObject: { readonly kid: string; readonly key: KeyObject } | undefined;
  #current: RingKey;
  readonly #previous: RingKey[] = [];
  /** Keys published ahead of signing (so verifiers that cache the JWKS know them when they start to sign), next first. */
  #upcoming: Array<{ readonly ringKey: RingKey; readonly privateKey: CryptoKey }> = [];
  readonly #retainMs: number;

  private constructor(
    privateKey: CryptoKey,
    current: RingKey,
    readonly clock: Clock,
    options: SigningKeysOptions,
  ) {
    this.#currentPrivate = privateKey;
    this.#current = current;
    const retain = options.retainSeconds ?? DEFAULT_RETAIN_SECONDS;
    if (!Number.isFinite(retain) || retain < 0) throw new TaskError('ERR_TASK_KEY', `retainSeconds must be >= 0, not ${retain}`);
    this.#retainMs = retain * 1000;
  }

  /** A ring with a freshly generated key (random `kid`). */
  static async generate(clock: Clock, options: SigningKeysOptions = {}): Promise<SigningKeys> {
    const { privateKey, ringKey } = await generated();
    return new SigningKeys(privateKey, ringKey, clock, options);
  }

  /**
   * A ring whose current key is `privateJwk` (an EC P-256 private JWK, e.g. from a mounted
   * secret, so that replicas share it). Its `kid` is kept, or else its RFC 7638 thumbprint,
   * which every replica computes alike. Throws `ERR_TASK_KEY` for any other key.
   */
  static async fromJwk(privateJwk: JWK, clock: Clock, options: SigningKeysOptions = {}): Promise<SigningKeys> {
    const { privateKey, ringKey } = await imported(privateJwk);
    return new SigningKeys(privateKey, ringKey, clock, options);
  }

  /** The `kid` of the key that signs now. */
  get currentKid(): string {
    return this.#current.kid;
  }

  /** The `kid`s of the upcoming keys (published, not signing yet), next first. */
  get upcomingKids(): string[] {
    return this.#upcoming.map((u) => u.ringKey.kid);
  }

  /**
   * Makes a new key current: `privateJwk` when given (a rotated secret), else the next
   * upcoming key if one was prepared, else a generated one. The old current key is kept for
   * verification for `retainSeconds`. Returns the new `kid`.
   */
  async rotate(privateJwk?: JWK): Promise<string> {
    const next = privateJwk === undefined ? this.#upcoming[0] : undefined;
    const { privateKey, ringKey } = next ?? (privateJwk === undefined ? await generated() : await imported(privateJwk));
    this.#upcoming = this.#upcoming.filter((u) => u.ringKey.kid !== ringKey.kid);
    const now = this.clock();
    this.prune(now);
    if (ringKey.kid === this.#current.kid) return ringKey.kid;
    const old = this.#current;
    old.retiredAt = now;
    const index = this.#previous.findIndex((k) => k.kid === ringKey.kid);
    if (index >= 0) this.#previous.splice(index, 1);
    this.#previous.push(old);
    this.#current = ringKey;
    this.#currentPrivate = privateKey;
    this.#currentKeyObject = undefined;
    return ringKey.kid;
  }

  /**
   * Publishes a key in the JWKS ahead of signing with it: `privateJwk` when given, else a
   * generated one. The next `rotate()` without a JWK makes the first upcoming key current.
   * Verifiers that cache the JWKS then know a key before any token it signs reaches them.
   * Returns its `kid`; a key already current or upcoming is not added twice.
   */
  async prepare(privateJwk?: JWK): Promise<string> {
    const key = privateJwk === undefined ? await generated() : await imported(privateJwk);
    const kid = key.ringKey.kid;
    if (kid !== this.#current.kid && !this.#upcoming.some((u) => u.ringKey.kid === kid)) this.#upcoming.push(key);
    return kid;
  }

  /**
   * Replaces the upcoming keys with `privateJwks` (e.g. the keys after the first in a
   * mounted JWK Set), in order; one equal to the current key is skipped. Imports all before
   * changing anything, so a bad key leaves the ring as it was.
   */
  async setUpcoming(privateJwks: readonly JWK[]): Promise<string[]> {
    const keys = await Promise.all(privateJwks.map((jwk) => imported(jwk)));
    const seen = new Set([this.#current.kid]);
    this.#upcoming = keys.filter((k) => !seen.has(k.ringKey.kid) && seen.add(k.ringKey.kid));
    return this.upcomingKids;
  }

  /** The current key, for signing. Internal to the task layer: never log its result. */
  signingKey(): { readonly kid: string; readonly key: CryptoKey } {
    return { kid: this.#current.kid, key: this.#currentPrivate };
  }

  /**
   * The current key as a node:crypto `KeyObject`, for synchronous signing on the hot path
   * (call tokens). Made once per key and cached until the next rotation; never log it.
   */
  signingKeyObject(): { readonly kid: string; readonly key: KeyObject } {
    const cached = this.#currentKeyObject;
    if (cached !== undefined && cached.kid === this.#current.kid) return cached;
    const fresh = { kid: this.#current.kid, key: KeyObject.from(this.#currentPrivate) };
    this.#currentKeyObject = fresh;
    return fresh;
  }

  /** The public key `kid` names, if the ring still holds it at the clock's time. */
  verificationKey(kid: string | undefined): CryptoKey | undefined {
    if (kid === undefined) return undefined;
    if (kid === this.#current.kid) return this.#current.publicKey;
    const now = this.clock();
    const key = this.#previous.find((k) => k.kid === kid);
    return key !== undefined && !this.expired(key, now) ? key.publicKey : undefined;
  }

  /** The public JWKS: the current key first, then the upcoming keys, then the previous keys still retained. */
  jwks(): { keys: PublicJwk[] } {
    const now = this.clock();
    this.prune(now);
    return { keys: [this.#current, ...this.#upcoming.map((u) => u.ringKey), ...this.#previous].map((k) => ({ ...k.publicJwk })) };
  }

  toJSON(): { currentKid: string; previousKids: string[]; upcomingKids?: string[] } {
    const shown = { currentKid: this.#current.kid, previousKids: this.#previous.map((k) => k.kid) };
    return this.#upcoming.length === 0 ? shown : { ...shown, upcomingKids: this.upcomingKids };
  }

  [inspect.custom](): string {
    return `SigningKeys ${JSON.stringify(this.toJSON())}`;
  }

  private expired(key: RingKey, now: number): boolean {
    return key.retiredAt !== undefined && now - key.retiredAt > this.#retainMs;
  }

  private prune(now: number): void {
    for (let i = this.#previous.length - 1; i >= 0; i--) {
      if (this.expired(this.#previous[i]!, now)) this.#previous.splice(i, 1);
    }
  }
}

async function generated(): Promise<{ privateKey: CryptoKey; ringKey: RingKey }> {
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM);
  const kid = randomBytes(12).toString('base64url');
  const publicJwk = toPublicJwk(await exportJWK(publicKey), kid);
  return { privateKey, ringKey: { kid, publicJwk, publicKey } };
}

async function imported(privateJwk: JWK): Promise<{ privateKey: CryptoKey; ringKey: RingKey }> {
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string') {
    throw new TaskError('ERR_TASK_KEY', 'a task signing key must be an EC P-256 private JWK');
  }
  if (privateJwk.alg !== undefined && privateJwk.alg !== SIGNING_ALGORITHM) {
    throw new TaskError('ERR_TASK_KEY', `a task signing key must be for ${SIGNING_ALGORITHM}`);
  }
  const bare = stripPrivate(privateJwk);
  const kid = typeof privateJwk.kid === 'string' && privateJwk.kid !== '' ? privateJwk.kid : await calculateJwkThumbprint(bare);
  try {
    const privateKey = (await importJWK({ ...privateJwk, ext: false }, SIGNING_ALGORITHM)) as CryptoKey;
    const publicKey = (await importJWK(bare, SIGNING_ALGORITHM)) as CryptoKey;
    return { privateKey, ringKey: { kid, publicJwk: toPublicJwk(bare, kid), publicKey } };
  } catch (cause) {
    // jose's message names no key material; keep the cause for debugging, not the JWK.
    throw new TaskError('ERR_TASK_KEY', 'the task signing key cannot be imported', { cause });
  }
}

function stripPrivate(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.key_ops;
  delete copy.ext;
  return copy as JWK;
}

function toPublicJwk(jwk: JWK, kid: string): PublicJwk {
  return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}
