// Original file: null

import type { OutgoingNullValue as Outgoing_google_protobuf_NullValue, NullValue as _google_protobuf_NullValue } from '../../google/protobuf/NullValue';
import type { OutgoingStruct as Outgoing_google_protobuf_Struct, Struct as _google_protobuf_Struct } from '../../google/protobuf/Struct';
import type { OutgoingListValue as Outgoing_google_protobuf_ListValue, ListValue as _google_protobuf_ListValue } from '../../google/protobuf/ListValue';

export interface OutgoingValue {
  'nullValue'?: (Outgoing_google_protobuf_NullValue);
  'numberValue'?: (number | string);
  'stringValue'?: (string);
  'boolValue'?: (boolean);
  'structValue'?: (Outgoing_google_protobuf_Struct | null);
  'listValue'?: (Outgoing_google_protobuf_ListValue | null);
  'kind'?: "nullValue"|"numberValue"|"stringValue"|"boolValue"|"structValue"|"listValue";
}

export interface Value {
  'nullValue'?: (_google_protobuf_NullValue);
  'numberValue'?: (number);
  'stringValue'?: (string);
  'boolValue'?: (boolean);
  'structValue'?: (_google_protobuf_Struct | null);
  'listValue'?: (_google_protobuf_ListValue | null);
  'kind'?: "nullValue"|"numberValue"|"stringValue"|"boolValue"|"structValue"|"listValue";
}
