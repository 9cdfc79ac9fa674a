// Original file: proto/spiffe/workload/workload.proto

import type { OutgoingStruct as Outgoing_google_protobuf_Struct, Struct as _google_protobuf_Struct } from './google/protobuf/Struct';

export interface OutgoingValidateJWTSVIDResponse {
  /**
   * Required.
   */
  'spiffe_id'?: (string);
  /**
   * Required.
   */
  'claims'?: (Outgoing_google_protobuf_Struct | null);
}

export interface ValidateJWTSVIDResponse {
  /**
   * Required.
   */
  'spiffe_id': (string);
  /**
   * Required.
   */
  'claims': (_google_protobuf_Struct | null);
}
