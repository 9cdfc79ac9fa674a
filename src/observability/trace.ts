import type { Logger } from './logger';

/**
 * The parts of the gateway that can trace, one name each (`TOOLGATE_TRACE=pipeline,policy`):
 * - `pipeline`: each call's way through the pipeline (received, routed, admitted, ended);
 * - `policy`: each Cedar request (principal, action, resource, the names of the context's fields) and its answer;
 * - `relay`: the upstream stream opened (header names only) and how each relayed call ended;
 * - `tasks`: the Tasks service's requests and results;
 * - `tls`: connections accepted on either listener, and bearer tokens accepted;
 * - `gateway`: the gateway's assembly and release, one resource at a time.
 */
export const TRACE_COMPONENTS = ['pipeline', 'policy', 'relay', 'tasks', 'tls', 'gateway'] as const;
export type TraceComponent = (typeof TRACE_COMPONENTS)[number];

/** A component's trace: a logger at `debug` when the component is traced, undefined when not. */
export type Trace = Logger | undefined;

/** What `TOOLGATE_TRACE` asks for: components by name, comma-separated, or `all`. */
export function parseTraceSpec(spec: string | undefined): { components: TraceComponent[]; unknown: string[] } {
  const names = (spec ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.includes('all') || names.includes('*')) return { components: [...TRACE_COMPONENTS], unknown: [] };
  const known = new Set<string>(TRACE_COMPONENTS);
  return {
    components: TRACE_COMPONENTS.filter((c) => names.includes(c)),
    unknown: names.filter((name) => !known.has(name)),
  };
}

/**
 * Opt-in debug tracing per component, on the operational log. A component asks once, when
 * it is made, for its trace, and traces with `trace?.debug({...}, '…')`: off, the trace is
 * undefined and optional chaining skips the call and the building of its arguments, so an
 * untraced component pays one check per trace point and builds no object or string.
 * Traced, its lines carry `trace: "<component>"` and are written whatever `logLevel` is.
 * Traces never carry tokens, keys or header values.
 */
export class Tracing {
  private readonly on: ReadonlySet<TraceComponent>;

  constructor(
    private readonly logger: Logger | undefined,
    components: Iterable<TraceComponent>,
  ) {
    this.on = new Set(components);
  }

  /** Nothing traced. */
  static readonly off = new Tracing(undefined, []);

  get components(): TraceComponent[] {
    return [...this.on];
  }

  for(component: TraceComponent): Trace {
    if (this.logger === undefined || !this.on.has(component)) return undefined;
    return this.logger.child({ trace: component }, { level: 'debug' });
  }
}
