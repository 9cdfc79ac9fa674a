import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { UsageError, type CliCommand } from './command';
import { parseFlags } from './flags';

const USAGE = `Usage: toolgate signing-key [--set]

Prints a new EC P-256 private JWK (ES256) for signing task and call tokens, with
kid = its RFC 7638 thumbprint, to stdout. Store it in a Kubernetes Secret and point
the gateway's signing key file at it, so that every replica signs with the same key and
publishes the same JWKS. To rotate, replace the Secret's content and reload.

  --set        print a JWK Set {"keys":[…]} instead of a bare JWK
  -h, --help   show this help

The output is a private key: redirect it straight into a file or a Secret, e.g.
  toolgate signing-key > key.json &&
  kubectl create secret generic toolgate-signing-key --from-file=key.json && rm key.json`;

/** A new EC P-256 private JWK for ES256, `kid` = its RFC 7638 thumbprint. */
export async function newSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const { kty, crv, x, y, d } = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty, crv, x, y });
  return { kty, crv, x, y, d, kid, alg: 'ES256', use: 'sig' };
}

/** `toolgate signing-key`: prints a new private signing JWK. */
export const signingKeyCommand: CliCommand = {
  name: 'signing-key',
  summary: 'Print a new ES256 private signing JWK (for a Secret shared by replicas)',
  usage: USAGE,
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, { set: { type: 'boolean' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const jwk = await newSigningJwk();
    context.stdout(JSON.stringify(values.set ? { keys: [jwk] } : jwk));
    return 0;
  },
};
