import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ToolgateError } from '../errors/toolgate-error';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, as Go's
 * golang.org/x/mod/sumdb/note writes them: a note is a text ending in a newline, a blank
 * line, and signature lines `— <key name> <base64(key id ‖ signature)>`. The key id is the
 * first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). Keys are written as Go's
 * tools write them, so that they interoperate:
 *
 *   signer key   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>
 *   verifier key <name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>
 */

/** A key or note that is not what the signed-note format says; the message never holds key material. */
export class SignedNoteError extends ToolgateError<'ERR_SIGNED_NOTE'> {
  constructor(message: string) {
    super('ERR_SIGNED_NOTE', message);
  }
}

const ED25519 = 0x01;
const EM_DASH = '\u2014';
// PKCS#8 and SPKI DER prefixes of an Ed25519 key (RFC 8410): the raw 32 bytes follow.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export class NoteVerifier {
  constructor(
    readonly name: string,
    /** 4 bytes. */
    readonly keyId: Buffer,
    private readonly publicKey: KeyObject,
    /** The 32 raw bytes, for the verifier key text. */
    private readonly raw: Buffer,
  ) {}

  /** `<name>+<hex id>+<base64(0x01 ‖ public key)>`. */
  get verifierKey(): string {
    return `${this.name}+${this.keyId.toString('hex')}+${Buffer.concat([Buffer.of(ED25519), this.raw]).toString('base64')}`;
  }

  verify(text: string, signature: Buffer): boolean {
    return verify(null, Buffer.from(text, 'utf8'), this.publicKey, signature);
  }

  static parse(verifierKey: string): NoteVerifier {
    const parts = splitKey(verifierKey.trim());
    if (!parts) throw new SignedNoteError('a verifier key is <name>+<hex key id>+<base64 key>');
    const [name, hexId, b64] = parts;
    checkName(name);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 33 || key[0] !== ED25519) throw new SignedNoteError(`verifier key ${name}: not an Ed25519 key (0x01 and 32 bytes)`);
    const raw = key.subarray(1);
    const id = keyId(name, raw);
    if (id.toString('hex') !== hexId) throw new SignedNoteError(`verifier key ${name}: key id ${hexId} does not match the key`);
    return new NoteVerifier(name, id, createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), raw);
  }
}

export class NoteSigner {
  readonly verifier: NoteVerifier;

  private constructor(
    readonly name: string,
    private readonly privateKey: KeyObject,
  ) {
    const raw = rawPublicKey(privateKey);
    this.verifier = new NoteVerifier(name, keyId(name, raw), createPublicKey(privateKey), raw);
  }

  /** A new key (generated in memory, never written). */
  static generate(name: string): NoteSigner {
    checkName(name);
    return new NoteSigner(name, generateKeyPairSync('ed25519').privateKey);
  }

  /** From `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`. */
  static parse(signerKey: string): NoteSigner {
    const trimmed = signerKey.trim();
    const parts = trimmed.startsWith('PRIVATE+KEY+') ? splitKey(trimmed.slice('PRIVATE+KEY+'.length)) : undefined;
    if (!parts) throw new SignedNoteError('a signer key is PRIVATE+KEY+<name>+<hex key id>+<base64 key>');
    const [name, hexId, b64] = parts;
    checkName(name);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 33 || key[0] !== ED25519) throw new SignedNoteError(`signer key ${name}: not an Ed25519 key (0x01 and a 32-byte seed)`);
    const signer = new NoteSigner(name, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, key.subarray(1)]), format: 'der', type: 'pkcs8' }));
    if (signer.verifier.keyId.toString('hex') !== hexId) throw new SignedNoteError(`signer key ${name}: key id ${hexId} does not match the key`);
    return signer;
  }

  /** The signer key text (private: for a file or a Secret only). */
  get signerKey(): string {
    const der = this.privateKey.export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32);
    return `PRIVATE+KEY+${this.name}+${this.verifier.keyId.toString('hex')}+${Buffer.concat([Buffer.of(ED25519), seed]).toString('base64')}`;
  }

  /** The signed note: `text` (which must end in a newline), a blank line, and this key's signature line. */
  sign(text: string): string {
    if (!text.endsWith('\n')) throw new SignedNoteError('a note text ends with a newline');
    const signature = sign(null, Buffer.from(text, 'utf8'), this.privateKey);
    return `${text}\n${EM_DASH} ${this.name} ${Buffer.concat([this.verifier.keyId, signature]).toString('base64')}\n`;
  }
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Buffer;
  readonly signature: Buffer;
}

/** A signed note split into its text and signatures; throws `SignedNoteError` when it is not one. */
export function openNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new SignedNoteError('not a signed note: no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (!match) throw new SignedNoteError('not a signed note: a signature line is not "— <name> <base64>"');
      const bytes = Buffer.from(match[2]!, 'base64');
      if (bytes.length < 5) throw new SignedNoteError('not a signed note: a signature is too short');
      return { name: match[1]!, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
    });
  return { text, signatures };
}

/** `<name>+<8 hex digits>+<base64>` split in three (base64 may hold "+"). */
function splitKey(text: string): [string, string, string] | undefined {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(text);
  return match ? [match[1]!, match[2]!, match[3]!] : undefined;
}

function keyId(name: string, raw: Buffer): Buffer {
  return createHash('sha256').update(name).update('\n').update(Buffer.of(ED25519)).update(raw).digest().subarray(0, 4);
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

function checkName(name: string): void {
  if (name === '' || /[\s+]/u.test(name)) throw new SignedNoteError(`key name ${JSON.stringify(name)}: must be non-empty, without spaces or "+"`);
}
