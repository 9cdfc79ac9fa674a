import { DerError } from '../errors';

/** One DER element: `buf[start, end)` is the whole element, `buf[contentStart, end)` its content. */
export interface DerElement {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

const SEQUENCE = 0x30;
// A certificate is at most a few KiB; four length bytes (4 GiB) is far beyond any real input
// and keeps the arithmetic within safe integers.
const MAX_LENGTH_BYTES = 4;

/**
 * Reads the DER header at `offset` within `buf[offset, limit)`. Only single-byte tags are
 * supported (all X.509 structure tags are), lengths must be definite and minimally
 * encoded, as DER requires.
 */
export function readDerElement(buf: Uint8Array, offset: number, limit: number = buf.length): DerElement {
  if (offset + 2 > limit) throw new DerError(`truncated DER header at offset ${offset}`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unsupported multi-byte DER tag at offset ${offset}`);
  const first = buf[offset + 1];
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0) throw new DerError(`indefinite DER length at offset ${offset}`);
    if (n > MAX_LENGTH_BYTES) throw new DerError(`DER length too large at offset ${offset}`);
    if (contentStart + n > limit) throw new DerError(`truncated DER length at offset ${offset}`);
    if (buf[contentStart] === 0) throw new DerError(`non-minimal DER length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[contentStart + i];
    if (length < 0x80) throw new DerError(`non-minimal DER length at offset ${offset}`);
    contentStart += n;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`truncated DER element at offset ${offset}: needs ${end - offset} bytes, has ${limit - offset}`);
  return { tag, start: offset, contentStart, end };
}

/**
 * Splits concatenated DER certificates (the Workload API's `x509_svid` and `bundle`
 * fields) by walking the top-level SEQUENCE headers. `new X509Certificate(buf)` would
 * silently read only the first one. Empty input yields `[]`; any non-empty input that is
 * not a whole number of SEQUENCEs throws `DerError`. The parts are copies, so they stay
 * valid if the caller's buffer is reused.
 */
export function splitDer(buf: Uint8Array): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < buf.length;) {
    // The tag first: PEM or other text is the likely mistake, and deserves to be named.
    if (buf[offset] !== SEQUENCE) {
      throw new DerError(`expected a DER SEQUENCE at offset ${offset}, found tag 0x${buf[offset].toString(16).padStart(2, '0')}`);
    }
    const element = readDerElement(buf, offset);
    parts.push(Buffer.from(buf.subarray(element.start, element.end)));
    offset = element.end;
  }
  return parts;
}
