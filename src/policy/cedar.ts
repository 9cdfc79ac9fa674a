// The only door to cedar-wasm in this package. The guard import must stay first: it sets a
// V8 flag that has to be in force before any cedar-wasm call can be optimized (v8-guard.ts).
import './v8-guard';

export {
  checkParsePolicySet,
  checkParseSchema,
  isAuthorizedPartial,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  schemaToJson,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
export type { AuthorizationAnswer, DetailedError, EntityJson, Expr, PolicyJson, StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
