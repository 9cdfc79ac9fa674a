// Original file: proto/spiffe/workload/workload.proto

import type { OutgoingJWTSVID as Outgoing_JWTSVID, JWTSVID as _JWTSVID } from './JWTSVID';

export interface OutgoingJWTSVIDResponse {
  /**
   * Required.
   */
  'svids'?: (Outgoing_JWTSVID)[];
}

export interface JWTSVIDResponse {
  /**
   * Required.
   */
  'svids': (_JWTSVID)[];
}
