import { hostname } from 'node:os';
import { errorMessage } from '../errors/unknown-error';
import { readCheckpointKeyFile } from '../observability/checkpoint-key';
import { NoteSigner } from '../observability/signed-note';
import { UsageError, type CliCommand } from './command';
import { parseFlags } from './flags';

const KEY_USAGE = `Usage: toolgate audit key [--name NAME]

Prints a new Ed25519 signer key for the decision log's checkpoints, in the C2SP
signed-note format (PRIVATE+KEY+<name>+<id>+<key>, as Go's note package writes it), to
stdout. Store it in a Kubernetes Secret and point decisionLog.checkpointKeyFile at it, so
that every replica, and every restart, signs with the same key; give auditors its
verifier key (\`toolgate audit vkey\`).

  --name NAME  the key's name (default: toolgate-decisions-<host name>)
  -h, --help   show this help

The output is a private key: redirect it straight into a file or a Secret, e.g.
  toolgate audit key > checkpoint.key &&
  kubectl create secret generic toolgate-checkpoint-key --from-file=checkpoint.key && rm checkpoint.key`;

/** `toolgate audit key`: prints a new checkpoint signer key. */
export const auditKeyCommand: CliCommand = {
  name: 'key',
  summary: 'print a new Ed25519 checkpoint signer key (for a Secret)',
  usage: KEY_USAGE,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, { name: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const name = values.name ?? `toolgate-decisions-${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`;
    let signer: NoteSigner;
    try {
      signer = NoteSigner.generate(name);
    } catch (err) {
      throw new UsageError(`--name: ${errorMessage(err)}`, { cause: err });
    }
    context.stdout(signer.signerKey);
    return 0;
  },
};

const VKEY_USAGE = `Usage: toolgate audit vkey FILE

Prints the verifier key (<name>+<id>+<public key>) of the checkpoint signer key in FILE
(decisionLog.checkpointKeyFile): what \`toolgate audit verify --keys\` reads, and what the
gateway publishes at GET /decision-log/keys on its admin port.`;

/** `toolgate audit vkey FILE`: prints a signer key file's verifier key. */
export const auditVkeyCommand: CliCommand = {
  name: 'vkey',
  summary: 'print the verifier key of a checkpoint signer key file',
  usage: VKEY_USAGE,
  async run(argv, context) {
    const { positionals } = parseFlags(argv, {});
    if (positionals.length !== 1) throw new UsageError(`one FILE is required\n\n${VKEY_USAGE}`);
    context.stdout(readCheckpointKeyFile(positionals[0]!).verifier.verifierKey);
    return 0;
  },
};
