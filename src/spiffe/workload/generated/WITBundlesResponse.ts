// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingWITBundlesResponse {
  /**
   * Required. Keyed by trust domain SPIFFE ID; the value is a JWK Set JSON string.
   */
  'bundles'?: ({[key: string]: string});
}

export interface WITBundlesResponse {
  /**
   * Required. Keyed by trust domain SPIFFE ID; the value is a JWK Set JSON string.
   */
  'bundles': ({[key: string]: string});
}
