// What a reload changes: every changed setting as a YAML key path ("pool.size",
// "cluster.nodes[tokyo].port"), which of those only a restart can apply, and the node set
// changes the health and pool modules act on (probe added nodes, drain removed ones). Pure;
// values are never included, so secrets cannot leak into the reload log.
import { isRestartOnly, yamlKeyOf } from './settings-table.js';
import type { MeridianConfig, NodeConfig } from './types.js';

export interface ReloadDiff {
  /** Every changed key path, in YAML spelling; lists of named items are keyed by name. */
  readonly changes: readonly string[];
  /** The subset of `changes` that a running process cannot apply (listen, tls, pool.mode, cluster.kind, admin.http). */
  readonly needsRestart: readonly string[];
  readonly addedNodes: readonly string[];
  readonly removedNodes: readonly string[];
  /** Nodes present in both whose settings (host, port, region, location, priority) differ. */
  readonly changedNodes: readonly string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isNamedList(v: unknown): v is ReadonlyArray<{ readonly name: string }> {
  return Array.isArray(v) && v.every((item) => isRecord(item) && typeof item.name === 'string');
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!equal(a[k], b[k])) return false;
    return true;
  }
  return false;
}

function diffNamed(a: ReadonlyArray<{ readonly name: string }>, b: ReadonlyArray<{ readonly name: string }>, path: string, out: string[]): void {
  const before = new Map(a.map((item) => [item.name, item]));
  const after = new Map(b.map((item) => [item.name, item]));
  for (const [name, item] of before) {
    if (!after.has(name)) out.push(`${path}[${name}]`);
    else diff(item, after.get(name), `${path}[${name}]`, out);
  }
  for (const name of after.keys()) if (!before.has(name)) out.push(`${path}[${name}]`);
  // Same members in another order still matters (e.g. node order is the config's preference).
  const common = (xs: ReadonlyArray<{ readonly name: string }>, other: Map<string, unknown>) => xs.map((x) => x.name).filter((n) => other.has(n));
  if (!equal(common(a, after), common(b, before))) out.push(`${path} (order)`);
}

function diff(a: unknown, b: unknown, path: string, out: string[]): void {
  if (equal(a, b)) return;
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff(a[k], b[k], path === '' ? yamlKeyOf(k) : `${path}.${yamlKeyOf(k)}`, out);
  } else if (isNamedList(a) && isNamedList(b) && (a.length > 0 || b.length > 0)) {
    diffNamed(a, b, path, out);
  } else {
    out.push(path);
  }
}

/** Compares two validated configs; the caller applies the runtime part and logs the rest. */
export function describeReload(oldCfg: MeridianConfig, newCfg: MeridianConfig): ReloadDiff {
  const changes: string[] = [];
  diff(oldCfg, newCfg, '', changes);
  const before = new Map<string, NodeConfig>(oldCfg.cluster.nodes.map((n) => [n.name, n]));
  const after = new Map<string, NodeConfig>(newCfg.cluster.nodes.map((n) => [n.name, n]));
  return {
    changes,
    needsRestart: changes.filter(isRestartOnly),
    addedNodes: [...after.keys()].filter((name) => !before.has(name)),
    removedNodes: [...before.keys()].filter((name) => !after.has(name)),
    changedNodes: [...after.entries()].filter(([name, n]) => before.has(name) && !equal(before.get(name), n)).map(([name]) => name),
  };
}
