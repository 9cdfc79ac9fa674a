// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingValidateJWTSVIDRequest {
  /**
   * Required. The validator's own audience.
   */
  'audience'?: (string);
  /**
   * Required. The token, JWS compact serialization.
   */
  'svid'?: (string);
}

export interface ValidateJWTSVIDRequest {
  /**
   * Required. The validator's own audience.
   */
  'audience': (string);
  /**
   * Required. The token, JWS compact serialization.
   */
  'svid': (string);
}
