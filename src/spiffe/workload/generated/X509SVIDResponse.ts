// Original file: proto/spiffe/workload/workload.proto

import type { OutgoingX509SVID as Outgoing_X509SVID, X509SVID as _X509SVID } from './X509SVID';

export interface OutgoingX509SVIDResponse {
  /**
   * Required. One or more SVIDs; svids[0] is the default identity.
   */
  'svids'?: (Outgoing_X509SVID)[];
  /**
   * Optional. DER-encoded certificate revocation lists.
   */
  'crl'?: (Buffer | Uint8Array | string)[];
  /**
   * Optional. Keyed by the foreign trust domain's SPIFFE ID; ASN.1 DER CA certificates, concatenated.
   */
  'federated_bundles'?: ({[key: string]: Buffer | Uint8Array | string});
}

export interface X509SVIDResponse {
  /**
   * Required. One or more SVIDs; svids[0] is the default identity.
   */
  'svids': (_X509SVID)[];
  /**
   * Optional. DER-encoded certificate revocation lists.
   */
  'crl': (Buffer)[];
  /**
   * Optional. Keyed by the foreign trust domain's SPIFFE ID; ASN.1 DER CA certificates, concatenated.
   */
  'federated_bundles': ({[key: string]: Buffer});
}
