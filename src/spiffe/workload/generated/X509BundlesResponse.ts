// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingX509BundlesResponse {
  /**
   * Optional. DER-encoded certificate revocation lists.
   */
  'crl'?: (Buffer | Uint8Array | string)[];
  /**
   * Required. Own and federated trust domains, keyed by SPIFFE ID; concatenated DER CA certificates.
   */
  'bundles'?: ({[key: string]: Buffer | Uint8Array | string});
}

export interface X509BundlesResponse {
  /**
   * Optional. DER-encoded certificate revocation lists.
   */
  'crl': (Buffer)[];
  /**
   * Required. Own and federated trust domains, keyed by SPIFFE ID; concatenated DER CA certificates.
   */
  'bundles': ({[key: string]: Buffer});
}
