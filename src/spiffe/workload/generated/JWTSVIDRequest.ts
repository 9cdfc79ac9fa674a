// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingJWTSVIDRequest {
  /**
   * Required. At least one audience.
   */
  'audience'?: (string)[];
  /**
   * Optional. Empty means every identity the workload is entitled to.
   */
  'spiffe_id'?: (string);
}

export interface JWTSVIDRequest {
  /**
   * Required. At least one audience.
   */
  'audience': (string)[];
  /**
   * Optional. Empty means every identity the workload is entitled to.
   */
  'spiffe_id': (string);
}
