// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingX509SVIDRequest {
}

export interface X509SVIDRequest {
}
