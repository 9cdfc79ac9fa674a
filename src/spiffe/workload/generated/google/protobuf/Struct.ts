// Original file: null

import type { OutgoingValue as Outgoing_google_protobuf_Value, Value as _google_protobuf_Value } from '../../google/protobuf/Value';

export interface OutgoingStruct {
  'fields'?: ({[key: string]: Outgoing_google_protobuf_Value});
}

export interface Struct {
  'fields': ({[key: string]: _google_protobuf_Value});
}
