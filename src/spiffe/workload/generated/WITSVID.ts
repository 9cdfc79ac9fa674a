// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingWITSVID {
  /**
   * Required.
   */
  'spiffe_id'?: (string);
  /**
   * Required. JWS compact serialization.
   */
  'wit_svid'?: (string);
  /**
   * Required. The private key as a JWK JSON string.
   */
  'wit_svid_key'?: (string);
  /**
   * Optional.
   */
  'hint'?: (string);
}

export interface WITSVID {
  /**
   * Required.
   */
  'spiffe_id': (string);
  /**
   * Required. JWS compact serialization.
   */
  'wit_svid': (string);
  /**
   * Required. The private key as a JWK JSON string.
   */
  'wit_svid_key': (string);
  /**
   * Optional.
   */
  'hint': (string);
}
