// The policy layer's entry point: re-exports only. Importing it applies the V8 guard.
export { assertWasmInliningGuard, WASM_INLINING_GUARD_FLAG } from './v8-guard';
export type { AttributeUsage } from './attribute-usage';
export type { AuthorizationRequest, Decision, Explanation } from './authorization';
export type { CedarValue } from '../identity/cedar-value';
export { PolicyError, type PolicyErrorCode } from './errors';
export { PolicyEngine, type FastPathDisagreement, type EvaluationCounts, type FastPathStats, type PolicyEngineOptions } from './policy-engine';
export type { LoadedPolicy } from './policy-file';
export { PolicySet, type PolicySource } from './policy-set';
export type { Principal } from '../identity/principal';
export type { Position } from './source-file';
