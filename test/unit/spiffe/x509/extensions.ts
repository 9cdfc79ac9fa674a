import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 schemas through tsyringe
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, id_ce_nameConstraints, Name, NameConstraints } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

/** Test-only extension builders for DevCa's `extensions` option. */

export interface Subtrees {
  permitted?: GeneralName[];
  excluded?: GeneralName[];
  /** Sets `minimum` on every subtree (RFC 5280 requires 0). */
  minimum?: number;
}

export const uri = (value: string): GeneralName => new GeneralName({ uniformResourceIdentifier: value });
export const dns = (value: string): GeneralName => new GeneralName({ dNSName: value });
export const email = (value: string): GeneralName => new GeneralName({ rfc822Name: value });
export const directory = (): GeneralName => new GeneralName({ directoryName: new Name() });

export function nameConstraints({ permitted, excluded, minimum = 0 }: Subtrees, critical = true): x509.Extension {
  const subtrees = (names?: GeneralName[]) => (names === undefined ? undefined : new GeneralSubtrees(names.map((base) => new GeneralSubtree({ base, minimum }))));
  const value = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: subtrees(permitted), excludedSubtrees: subtrees(excluded) }));
  return new x509.Extension(id_ce_nameConstraints, critical, value);
}

/** An extension nobody processes: OID 1.3.6.1.4.1.99999.1, value NULL. */
export function unknownExtension(critical: boolean): x509.Extension {
  return new x509.Extension('1.3.6.1.4.1.99999.1', critical, new Uint8Array([0x05, 0x00]));
}
