// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingJWTBundlesResponse {
  /**
   * Required. Keyed by trust domain SPIFFE ID; the value is a JWK Set as UTF-8 JSON.
   */
  'bundles'?: ({[key: string]: Buffer | Uint8Array | string});
}

export interface JWTBundlesResponse {
  /**
   * Required. Keyed by trust domain SPIFFE ID; the value is a JWK Set as UTF-8 JSON.
   */
  'bundles': ({[key: string]: Buffer});
}
