// Original file: null

import type { OutgoingValue as Outgoing_google_protobuf_Value, Value as _google_protobuf_Value } from '../../google/protobuf/Value';

export interface OutgoingListValue {
  'values'?: (Outgoing_google_protobuf_Value)[];
}

export interface ListValue {
  'values': (_google_protobuf_Value)[];
}
