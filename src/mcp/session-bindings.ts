/**
 * Which caller opened each MCP session (`Mcp-Session-Id`) of one upstream. A session id is a
 * bearer capability to the server's session state (its open streams, pending elicitations,
 * subscriptions), so the gateway binds it to the authenticated identity whose initialize
 * the server answered with it, and refuses it from anyone else: the MCP security best
 * practices' "Session Hijacking" mitigation, with the caller's SPIFFE ID (or token subject)
 * as the binding instead of a user id.
 *
 * Bounded: past `maxPerCaller` bindings of one caller, that caller's oldest is forgotten (so
 * that one caller opening sessions in a loop cannot push every other caller's out), and past
 * `maxSessions` in all, the oldest binding; a forgotten session is answered 404 like an
 * unknown one; an MCP client then starts a new session (Streamable HTTP, "Session
 * Management" 4). Bindings live in this process: a restarted gateway or another replica
 * knows none, with the same outcome.
 */
export class SessionBindings {
  private readonly owners = new Map<string, string>();
  /** The protocol version the server answered each session's initialize with, once seen. */
  private readonly versions = new Map<string, string>();
  /** The ids of each session's requests in flight through the relay. */
  private readonly inFlight = new Map<string, Set<string>>();

  /** How many bindings each caller holds. */
  private readonly perCaller = new Map<string, number>();

  constructor(
    private readonly maxSessions = 10_000,
    private readonly maxPerCaller = 1_000,
  ) {}

  /** Records that `callerKey` opened `sessionId`. A session id already bound to another caller keeps its owner. */
  bind(sessionId: string, callerKey: string): 'bound' | 'taken' {
    const owner = this.owners.get(sessionId);
    if (owner !== undefined) return owner === callerKey ? 'bound' : 'taken';
    if ((this.perCaller.get(callerKey) ?? 0) >= this.maxPerCaller) {
      for (const [id, key] of this.owners) {
        if (key !== callerKey) continue;
        this.end(id);
        break;
      }
    }
    if (this.owners.size >= this.maxSessions) {
      const oldest = this.owners.keys().next().value;
      if (oldest !== undefined) this.end(oldest);
    }
    this.owners.set(sessionId, callerKey);
    this.perCaller.set(callerKey, (this.perCaller.get(callerKey) ?? 0) + 1);
    return 'bound';
  }

  /** `own` when `callerKey` opened `sessionId`; `foreign` when another caller did; `unknown` otherwise. */
  check(sessionId: string, callerKey: string): 'own' | 'foreign' | 'unknown' {
    const owner = this.owners.get(sessionId);
    if (owner === undefined) return 'unknown';
    return owner === callerKey ? 'own' : 'foreign';
  }

  /**
   * Claims request ids (`idKey`s) for requests of `sessionId` about to be relayed: false, and
   * nothing claimed, when one is already claimed by a request still in flight. The SDK's
   * server routes an answer to the HTTP request by its id alone, so a second request reusing
   * an id in flight could receive the first one's answer, unfiltered (a tools/list answer on
   * a tools/call stream). Each claim is given back with `releaseIds` when its answer ends.
   */
  claimIds(sessionId: string, ids: readonly string[]): boolean {
    if (ids.length === 0) return true;
    const claimed = this.inFlight.get(sessionId) ?? new Set<string>();
    if (ids.some((id) => claimed.has(id))) return false;
    for (const id of ids) claimed.add(id);
    this.inFlight.set(sessionId, claimed);
    return true;
  }

  releaseIds(sessionId: string, ids: readonly string[]): void {
    const claimed = this.inFlight.get(sessionId);
    if (claimed === undefined) return;
    for (const id of ids) claimed.delete(id);
    if (claimed.size === 0) this.inFlight.delete(sessionId);
  }

  /** Forgets `sessionId` (the session was deleted, or the server no longer knows it). */
  end(sessionId: string): void {
    const owner = this.owners.get(sessionId);
    if (owner !== undefined) {
      const held = (this.perCaller.get(owner) ?? 1) - 1;
      if (held > 0) this.perCaller.set(owner, held);
      else this.perCaller.delete(owner);
    }
    this.owners.delete(sessionId);
    this.versions.delete(sessionId);
  }

  /** Records the protocol version negotiated for a bound session. */
  setVersion(sessionId: string, version: string): void {
    if (this.owners.has(sessionId)) this.versions.set(sessionId, version);
  }

  /** The protocol version negotiated for `sessionId`, when the gateway saw the initialize answer. */
  versionOf(sessionId: string): string | undefined {
    return this.versions.get(sessionId);
  }

  get size(): number {
    return this.owners.size;
  }
}
