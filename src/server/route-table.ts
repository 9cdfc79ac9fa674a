import type { UpstreamChannel } from '../relay/upstream-channel';

/** gRPC service name → the upstream that serves it. Built from config; immutable. */
export type RouteTable = ReadonlyMap<string, UpstreamChannel>;
