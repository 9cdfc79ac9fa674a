// Original file: proto/spiffe/workload/workload.proto

import type { OutgoingWITSVID as Outgoing_WITSVID, WITSVID as _WITSVID } from './WITSVID';

export interface OutgoingWITSVIDResponse {
  /**
   * Required.
   */
  'svids'?: (Outgoing_WITSVID)[];
}

export interface WITSVIDResponse {
  /**
   * Required.
   */
  'svids': (_WITSVID)[];
}
