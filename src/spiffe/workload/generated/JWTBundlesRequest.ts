// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingJWTBundlesRequest {
}

export interface JWTBundlesRequest {
}
