// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingX509BundlesRequest {
}

export interface X509BundlesRequest {
}
