import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorCode } from '../errors/unknown-error';
import { ToolgateError } from '../errors/toolgate-error';
import { NoteSigner, SignedNoteError, type NoteVerifier } from './signed-note';

/** Where the admin server publishes the decision log's checkpoint verifier key(s), one per line. */
export const CHECKPOINT_KEYS_PATH = '/decision-log/keys';

/** `decisionLog.checkpointKeyFile` cannot be used. The message names the file and the problem, never key material. */
export class CheckpointKeyFileError extends ToolgateError<'ERR_CHECKPOINT_KEY_FILE'> {
  constructor(
    readonly file: string,
    problem: string,
    options: { cause?: unknown } = {},
  ) {
    super('ERR_CHECKPOINT_KEY_FILE', `checkpoint key file ${file}: ${problem}`, options);
  }
}

/** The signer key in `file` (`PRIVATE+KEY+<name>+<id>+<key>`, as `toolgate audit key` prints it). Read once, at start. */
export function readCheckpointKeyFile(file: string): NoteSigner {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = errorCode(err);
    throw new CheckpointKeyFileError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`, { cause: err });
  }
  try {
    return NoteSigner.parse(text);
  } catch (err) {
    // SignedNoteError's messages name no key material.
    throw new CheckpointKeyFileError(file, err instanceof SignedNoteError ? err.message : 'not a signer key', { cause: err });
  }
}

/** A handler for `AdminServer.route(CHECKPOINT_KEYS_PATH, …)`: the verifier keys, one per line, as `audit verify --keys` reads them. */
export function checkpointKeysHandler(verifiers: () => readonly NoteVerifier[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    const body = verifiers()
      .map((v) => `${v.verifierKey}\n`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}
