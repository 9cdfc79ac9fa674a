import type { ServerHttp2Stream } from 'node:http2';
import { respondUnary } from './unary-call';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
/** The one method the gateway answers; the caller's pipeline refuses the others (with a decision id). */
export const HEALTH_CHECK = `${HEALTH_SERVICE}/Check`;

// HealthCheckResponse { status = 1 } (SERVING) and { status = 2 } (NOT_SERVING).
const SERVING = Uint8Array.of(0x08, 1);
const NOT_SERVING = Uint8Array.of(0x08, 2);

/**
 * The standard `grpc.health.v1.Health/Check` on the gateway's own listener, answered by
 * the gateway itself (no policy decision: it reveals only whether the gateway is ready,
 * and only to an authenticated caller). The requested service name is not consulted:
 * the gateway reports its own readiness for every name, once the request has ended.
 */
export function serveHealth(stream: ServerHttp2Stream, ready: boolean): void {
  stream.resume(); // the request message is not needed; drain it
  stream.on('end', () => respondUnary(stream, ready ? SERVING : NOT_SERVING));
}
