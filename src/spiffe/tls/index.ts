export * from './authorizer';
export { grpcChannelCredentials, serveGrpcOverMtls, callerSpiffeId, type X509WatchedSource } from './grpc-credentials';
export { mtlsClientOptions, spiffeServerCheck } from './mtls-client';
export { MtlsServer, type MtlsServerOptions } from './mtls-server';
export { chainFromPeerCertificate, peerChain } from './peer-chain';
export type { X509TlsSource } from './secure-context-cache';
export { verifyPeer, type VerifiedPeer } from './verify-peer';
