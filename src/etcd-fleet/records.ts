// The values the etcd fleet stores, as JSON, and their checked decoding. Anything in etcd may have
// been written by hand, by another version or by a broken client: every decoder returns null for
// a value it does not understand (wrong JSON, wrong types, too big) instead of throwing, and the
// caller skips it. Pure.

/** The largest value decoded; a bigger one is ignored (etcd's own limit is 1.5 MiB). */
const MAX_VALUE_BYTES = 64 * 1024;

/** One instance's registration: who it is and the topology it sees. */
export interface MemberRecord {
  readonly instance: string;
  readonly region: string | null;
  readonly version: string;
  readonly startedAtMs: number;
  readonly heartbeatAtMs: number;
  /** node → "role state up|down", e.g. "master active up". */
  readonly topology: Readonly<Record<string, string>>;
}

/** The fleet's last operation on a node: its key's mod revision names it. */
export interface DrainRecord {
  readonly op: 'drain' | 'undrain';
  /** The instance it came through. */
  readonly by: string;
  readonly atMs: number;
  /** DRAIN's timeout (null: drain.timeout of each instance). */
  readonly timeoutMs: number | null;
}

/** An instance's acknowledgement of operation `rev` on a node. */
export interface AckRecord {
  readonly rev: number;
  /** applied: the node is out of (or back in) this instance's routing; done: the drain finished. */
  readonly phase: 'applied' | 'done';
  /** DRAIN: drained | already-drained | undrained (aborted) | draining; UNDRAIN: the node's state. */
  readonly outcome: string;
  readonly waitedMs: number;
  readonly cancelled: number;
  readonly closed: number;
  readonly left: number;
  /** Why this instance could not apply it (e.g. it has no such node), or null. */
  readonly error: string | null;
}

function parseObject(value: string | Buffer): Record<string, unknown> | null {
  if (value.length > MAX_VALUE_BYTES) return null;
  try {
    const v: unknown = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isText = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function encodeMember(m: MemberRecord): string {
  return JSON.stringify(m);
}

export function decodeMember(value: string | Buffer): MemberRecord | null {
  const o = parseObject(value);
  if (o === null) return null;
  const { instance, region, version, startedAtMs, heartbeatAtMs, topology } = o;
  if (!isText(instance) || !(region === null || isText(region)) || !isText(version) || !isCount(startedAtMs) || !isCount(heartbeatAtMs)) return null;
  if (topology === null || typeof topology !== 'object' || Array.isArray(topology)) return null;
  const topo: Record<string, string> = {};
  for (const [node, state] of Object.entries(topology as Record<string, unknown>)) {
    if (!isText(node, 100) || !isText(state, 100)) return null;
    topo[node] = state;
  }
  return { instance, region, version, startedAtMs, heartbeatAtMs, topology: topo };
}

export function encodeDrain(d: DrainRecord): string {
  return JSON.stringify(d);
}

export function decodeDrain(value: string | Buffer): DrainRecord | null {
  const o = parseObject(value);
  if (o === null) return null;
  const { op, by, atMs, timeoutMs } = o;
  if ((op !== 'drain' && op !== 'undrain') || !isText(by) || !isCount(atMs)) return null;
  if (!(timeoutMs === null || timeoutMs === undefined || (isCount(timeoutMs) && timeoutMs <= 7 * 24 * 3_600_000))) return null;
  return { op, by, atMs, timeoutMs: timeoutMs ?? null };
}

export function encodeAck(a: AckRecord): string {
  return JSON.stringify(a);
}

export function decodeAck(value: string | Buffer): AckRecord | null {
  const o = parseObject(value);
  if (o === null) return null;
  const { rev, phase, outcome, waitedMs, cancelled, closed, left, error } = o;
  if (!isCount(rev) || (phase !== 'applied' && phase !== 'done') || !isText(outcome)) return null;
  if (!isCount(waitedMs) || !isCount(cancelled) || !isCount(closed) || !isCount(left)) return null;
  if (!(error === null || isText(error, 1000))) return null;
  return { rev, phase, outcome, waitedMs, cancelled, closed, left, error };
}

/** A node's state as a member record shows it: "master active up". */
export function topologyCell(role: string, state: string, isUp: boolean): string {
  return `${role} ${state} ${isUp ? 'up' : 'down'}`;
}
