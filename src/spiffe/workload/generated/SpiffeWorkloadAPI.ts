// Original file: proto/spiffe/workload/workload.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { OutgoingJWTBundlesRequest as Outgoing_JWTBundlesRequest, JWTBundlesRequest as _JWTBundlesRequest } from './JWTBundlesRequest';
import type { OutgoingJWTBundlesResponse as Outgoing_JWTBundlesResponse, JWTBundlesResponse as _JWTBundlesResponse } from './JWTBundlesResponse';
import type { OutgoingJWTSVIDRequest as Outgoing_JWTSVIDRequest, JWTSVIDRequest as _JWTSVIDRequest } from './JWTSVIDRequest';
import type { OutgoingJWTSVIDResponse as Outgoing_JWTSVIDResponse, JWTSVIDResponse as _JWTSVIDResponse } from './JWTSVIDResponse';
import type { OutgoingValidateJWTSVIDRequest as Outgoing_ValidateJWTSVIDRequest, ValidateJWTSVIDRequest as _ValidateJWTSVIDRequest } from './ValidateJWTSVIDRequest';
import type { OutgoingValidateJWTSVIDResponse as Outgoing_ValidateJWTSVIDResponse, ValidateJWTSVIDResponse as _ValidateJWTSVIDResponse } from './ValidateJWTSVIDResponse';
import type { OutgoingWITBundlesRequest as Outgoing_WITBundlesRequest, WITBundlesRequest as _WITBundlesRequest } from './WITBundlesRequest';
import type { OutgoingWITBundlesResponse as Outgoing_WITBundlesResponse, WITBundlesResponse as _WITBundlesResponse } from './WITBundlesResponse';
import type { OutgoingWITSVIDRequest as Outgoing_WITSVIDRequest, WITSVIDRequest as _WITSVIDRequest } from './WITSVIDRequest';
import type { OutgoingWITSVIDResponse as Outgoing_WITSVIDResponse, WITSVIDResponse as _WITSVIDResponse } from './WITSVIDResponse';
import type { OutgoingX509BundlesRequest as Outgoing_X509BundlesRequest, X509BundlesRequest as _X509BundlesRequest } from './X509BundlesRequest';
import type { OutgoingX509BundlesResponse as Outgoing_X509BundlesResponse, X509BundlesResponse as _X509BundlesResponse } from './X509BundlesResponse';
import type { OutgoingX509SVIDRequest as Outgoing_X509SVIDRequest, X509SVIDRequest as _X509SVIDRequest } from './X509SVIDRequest';
import type { OutgoingX509SVIDResponse as Outgoing_X509SVIDResponse, X509SVIDResponse as _X509SVIDResponse } from './X509SVIDResponse';

export interface SpiffeWorkloadAPIClient extends grpc.Client {
  FetchJWTBundles(argument: Outgoing_JWTBundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_JWTBundlesResponse>;
  FetchJWTBundles(argument: Outgoing_JWTBundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_JWTBundlesResponse>;
  fetchJwtBundles(argument: Outgoing_JWTBundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_JWTBundlesResponse>;
  fetchJwtBundles(argument: Outgoing_JWTBundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_JWTBundlesResponse>;
  
  /**
   * JWT-SVID profile (mandatory)
   */
  FetchJWTSVID(argument: Outgoing_JWTSVIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  FetchJWTSVID(argument: Outgoing_JWTSVIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  FetchJWTSVID(argument: Outgoing_JWTSVIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  FetchJWTSVID(argument: Outgoing_JWTSVIDRequest, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  /**
   * JWT-SVID profile (mandatory)
   */
  fetchJwtsvid(argument: Outgoing_JWTSVIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  fetchJwtsvid(argument: Outgoing_JWTSVIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  fetchJwtsvid(argument: Outgoing_JWTSVIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  fetchJwtsvid(argument: Outgoing_JWTSVIDRequest, callback: grpc.requestCallback<_JWTSVIDResponse>): grpc.ClientUnaryCall;
  
  FetchWITBundles(argument: Outgoing_WITBundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITBundlesResponse>;
  FetchWITBundles(argument: Outgoing_WITBundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITBundlesResponse>;
  fetchWitBundles(argument: Outgoing_WITBundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITBundlesResponse>;
  fetchWitBundles(argument: Outgoing_WITBundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITBundlesResponse>;
  
  /**
   * WIT-SVID profile (optional, incubating)
   */
  FetchWITSVID(argument: Outgoing_WITSVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITSVIDResponse>;
  FetchWITSVID(argument: Outgoing_WITSVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITSVIDResponse>;
  /**
   * WIT-SVID profile (optional, incubating)
   */
  fetchWitsvid(argument: Outgoing_WITSVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITSVIDResponse>;
  fetchWitsvid(argument: Outgoing_WITSVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_WITSVIDResponse>;
  
  FetchX509Bundles(argument: Outgoing_X509BundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509BundlesResponse>;
  FetchX509Bundles(argument: Outgoing_X509BundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509BundlesResponse>;
  fetchX509Bundles(argument: Outgoing_X509BundlesRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509BundlesResponse>;
  fetchX509Bundles(argument: Outgoing_X509BundlesRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509BundlesResponse>;
  
  /**
   * X.509-SVID profile (mandatory)
   */
  FetchX509SVID(argument: Outgoing_X509SVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse>;
  FetchX509SVID(argument: Outgoing_X509SVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse>;
  /**
   * X.509-SVID profile (mandatory)
   */
  fetchX509Svid(argument: Outgoing_X509SVIDRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse>;
  fetchX509Svid(argument: Outgoing_X509SVIDRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_X509SVIDResponse>;
  
  ValidateJWTSVID(argument: Outgoing_ValidateJWTSVIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  ValidateJWTSVID(argument: Outgoing_ValidateJWTSVIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  ValidateJWTSVID(argument: Outgoing_ValidateJWTSVIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  ValidateJWTSVID(argument: Outgoing_ValidateJWTSVIDRequest, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  validateJwtsvid(argument: Outgoing_ValidateJWTSVIDRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  validateJwtsvid(argument: Outgoing_ValidateJWTSVIDRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  validateJwtsvid(argument: Outgoing_ValidateJWTSVIDRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  validateJwtsvid(argument: Outgoing_ValidateJWTSVIDRequest, callback: grpc.requestCallback<_ValidateJWTSVIDResponse>): grpc.ClientUnaryCall;
  
}

export interface SpiffeWorkloadAPIHandlers extends grpc.UntypedServiceImplementation {
  FetchJWTBundles: grpc.handleServerStreamingCall<_JWTBundlesRequest, Outgoing_JWTBundlesResponse>;
  
  /**
   * JWT-SVID profile (mandatory)
   */
  FetchJWTSVID: grpc.handleUnaryCall<_JWTSVIDRequest, Outgoing_JWTSVIDResponse>;
  
  FetchWITBundles: grpc.handleServerStreamingCall<_WITBundlesRequest, Outgoing_WITBundlesResponse>;
  
  /**
   * WIT-SVID profile (optional, incubating)
   */
  FetchWITSVID: grpc.handleServerStreamingCall<_WITSVIDRequest, Outgoing_WITSVIDResponse>;
  
  FetchX509Bundles: grpc.handleServerStreamingCall<_X509BundlesRequest, Outgoing_X509BundlesResponse>;
  
  /**
   * X.509-SVID profile (mandatory)
   */
  FetchX509SVID: grpc.handleServerStreamingCall<_X509SVIDRequest, Outgoing_X509SVIDResponse>;
  
  ValidateJWTSVID: grpc.handleUnaryCall<_ValidateJWTSVIDRequest, Outgoing_ValidateJWTSVIDResponse>;
  
}

export interface SpiffeWorkloadAPIDefinition extends grpc.ServiceDefinition {
  FetchJWTBundles: MethodDefinition<Outgoing_JWTBundlesRequest, Outgoing_JWTBundlesResponse, _JWTBundlesRequest, _JWTBundlesResponse>
  FetchJWTSVID: MethodDefinition<Outgoing_JWTSVIDRequest, Outgoing_JWTSVIDResponse, _JWTSVIDRequest, _JWTSVIDResponse>
  FetchWITBundles: MethodDefinition<Outgoing_WITBundlesRequest, Outgoing_WITBundlesResponse, _WITBundlesRequest, _WITBundlesResponse>
  FetchWITSVID: MethodDefinition<Outgoing_WITSVIDRequest, Outgoing_WITSVIDResponse, _WITSVIDRequest, _WITSVIDResponse>
  FetchX509Bundles: MethodDefinition<Outgoing_X509BundlesRequest, Outgoing_X509BundlesResponse, _X509BundlesRequest, _X509BundlesResponse>
  FetchX509SVID: MethodDefinition<Outgoing_X509SVIDRequest, Outgoing_X509SVIDResponse, _X509SVIDRequest, _X509SVIDResponse>
  ValidateJWTSVID: MethodDefinition<Outgoing_ValidateJWTSVIDRequest, Outgoing_ValidateJWTSVIDResponse, _ValidateJWTSVIDRequest, _ValidateJWTSVIDResponse>
}
