import type * as Asn1Schema from '@peculiar/asn1-schema';
import type * as Asn1X509 from '@peculiar/asn1-x509';

/** The ASN.1 parser of X.509 certificates (@peculiar/asn1-schema and -x509). */
export interface Asn1 {
  schema: typeof Asn1Schema;
  x509: typeof Asn1X509;
}

let loaded: Asn1 | undefined;

/**
 * The ASN.1 parser, loaded on first use rather than on import: its helper library, tslib,
 * defines its helpers (`__extends`, `__awaiter` and 30 more) as globals when its CommonJS
 * build is loaded, and importing `toolgate/spiffe` must leave the global scope alone. The
 * first certificate parsed pays the load, once per process.
 */
export function asn1(): Asn1 {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, as said above */
  loaded ??= {
    schema: require('@peculiar/asn1-schema') as typeof Asn1Schema,
    x509: require('@peculiar/asn1-x509') as typeof Asn1X509,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return loaded;
}
