// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingWITSVIDRequest {
  /**
   * Optional.
   */
  'spiffe_id'?: (string);
}

export interface WITSVIDRequest {
  /**
   * Optional.
   */
  'spiffe_id': (string);
}
