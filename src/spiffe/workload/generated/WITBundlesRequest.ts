// Original file: proto/spiffe/workload/workload.proto


export interface OutgoingWITBundlesRequest {
}

export interface WITBundlesRequest {
}
