import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { OutgoingJWTBundlesRequest as Outgoing_JWTBundlesRequest, JWTBundlesRequest as _JWTBundlesRequest } from './JWTBundlesRequest';
import type { OutgoingJWTBundlesResponse as Outgoing_JWTBundlesResponse, JWTBundlesResponse as _JWTBundlesResponse } from './JWTBundlesResponse';
import type { OutgoingJWTSVID as Outgoing_JWTSVID, JWTSVID as _JWTSVID } from './JWTSVID';
import type { OutgoingJWTSVIDRequest as Outgoing_JWTSVIDRequest, JWTSVIDRequest as _JWTSVIDRequest } from './JWTSVIDRequest';
import type { OutgoingJWTSVIDResponse as Outgoing_JWTSVIDResponse, JWTSVIDResponse as _JWTSVIDResponse } from './JWTSVIDResponse';
import type { SpiffeWorkloadAPIClient as _SpiffeWorkloadAPIClient, SpiffeWorkloadAPIDefinition as _SpiffeWorkloadAPIDefinition } from './SpiffeWorkloadAPI';
import type { OutgoingValidateJWTSVIDRequest as Outgoing_ValidateJWTSVIDRequest, ValidateJWTSVIDRequest as _ValidateJWTSVIDRequest } from './ValidateJWTSVIDRequest';
import type { OutgoingValidateJWTSVIDResponse as Outgoing_ValidateJWTSVIDResponse, ValidateJWTSVIDResponse as _ValidateJWTSVIDResponse } from './ValidateJWTSVIDResponse';
import type { OutgoingWITBundlesRequest as Outgoing_WITBundlesRequest, WITBundlesRequest as _WITBundlesRequest } from './WITBundlesRequest';
import type { OutgoingWITBundlesResponse as Outgoing_WITBundlesResponse, WITBundlesResponse as _WITBundlesResponse } from './WITBundlesResponse';
import type { OutgoingWITSVID as Outgoing_WITSVID, WITSVID as _WITSVID } from './WITSVID';
import type { OutgoingWITSVIDRequest as Outgoing_WITSVIDRequest, WITSVIDRequest as _WITSVIDRequest } from './WITSVIDRequest';
import type { OutgoingWITSVIDResponse as Outgoing_WITSVIDResponse, WITSVIDResponse as _WITSVIDResponse } from './WITSVIDResponse';
import type { OutgoingX509BundlesRequest as Outgoing_X509BundlesRequest, X509BundlesRequest as _X509BundlesRequest } from './X509BundlesRequest';
import type { OutgoingX509BundlesResponse as Outgoing_X509BundlesResponse, X509BundlesResponse as _X509BundlesResponse } from './X509BundlesResponse';
import type { OutgoingX509SVID as Outgoing_X509SVID, X509SVID as _X509SVID } from './X509SVID';
import type { OutgoingX509SVIDRequest as Outgoing_X509SVIDRequest, X509SVIDRequest as _X509SVIDRequest } from './X509SVIDRequest';
import type { OutgoingX509SVIDResponse as Outgoing_X509SVIDResponse, X509SVIDResponse as _X509SVIDResponse } from './X509SVIDResponse';
import type { OutgoingListValue as Outgoing_google_protobuf_ListValue, ListValue as _google_protobuf_ListValue } from './google/protobuf/ListValue';
import type { OutgoingStruct as Outgoing_google_protobuf_Struct, Struct as _google_protobuf_Struct } from './google/protobuf/Struct';
import type { OutgoingValue as Outgoing_google_protobuf_Value, Value as _google_protobuf_Value } from './google/protobuf/Value';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  JWTBundlesRequest: MessageTypeDefinition<Outgoing_JWTBundlesRequest, _JWTBundlesRequest>
  JWTBundlesResponse: MessageTypeDefinition<Outgoing_JWTBundlesResponse, _JWTBundlesResponse>
  JWTSVID: MessageTypeDefinition<Outgoing_JWTSVID, _JWTSVID>
  JWTSVIDRequest: MessageTypeDefinition<Outgoing_JWTSVIDRequest, _JWTSVIDRequest>
  JWTSVIDResponse: MessageTypeDefinition<Outgoing_JWTSVIDResponse, _JWTSVIDResponse>
  SpiffeWorkloadAPI: SubtypeConstructor<typeof grpc.Client, _SpiffeWorkloadAPIClient> & { service: _SpiffeWorkloadAPIDefinition }
  ValidateJWTSVIDRequest: MessageTypeDefinition<Outgoing_ValidateJWTSVIDRequest, _ValidateJWTSVIDRequest>
  ValidateJWTSVIDResponse: MessageTypeDefinition<Outgoing_ValidateJWTSVIDResponse, _ValidateJWTSVIDResponse>
  WITBundlesRequest: MessageTypeDefinition<Outgoing_WITBundlesRequest, _WITBundlesRequest>
  WITBundlesResponse: MessageTypeDefinition<Outgoing_WITBundlesResponse, _WITBundlesResponse>
  WITSVID: MessageTypeDefinition<Outgoing_WITSVID, _WITSVID>
  WITSVIDRequest: MessageTypeDefinition<Outgoing_WITSVIDRequest, _WITSVIDRequest>
  WITSVIDResponse: MessageTypeDefinition<Outgoing_WITSVIDResponse, _WITSVIDResponse>
  X509BundlesRequest: MessageTypeDefinition<Outgoing_X509BundlesRequest, _X509BundlesRequest>
  X509BundlesResponse: MessageTypeDefinition<Outgoing_X509BundlesResponse, _X509BundlesResponse>
  X509SVID: MessageTypeDefinition<Outgoing_X509SVID, _X509SVID>
  X509SVIDRequest: MessageTypeDefinition<Outgoing_X509SVIDRequest, _X509SVIDRequest>
  X509SVIDResponse: MessageTypeDefinition<Outgoing_X509SVIDResponse, _X509SVIDResponse>
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<Outgoing_google_protobuf_ListValue, _google_protobuf_ListValue>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<Outgoing_google_protobuf_Struct, _google_protobuf_Struct>
      Value: MessageTypeDefinition<Outgoing_google_protobuf_Value, _google_protobuf_Value>
    }
  }
}

