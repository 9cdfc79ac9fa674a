// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingJWTSVID {
  /**
   * Required.
   */
  'spiffe_id'?: (string);
  /**
   * Required. JWS compact serialization.
   */
  'svid'?: (string);
  /**
   * Optional.
   */
  'hint'?: (string);
}

export interface JWTSVID {
  /**
   * Required.
   */
  'spiffe_id': (string);
  /**
   * Required. JWS compact serialization.
   */
  'svid': (string);
  /**
   * Optional.
   */
  'hint': (string);
}
