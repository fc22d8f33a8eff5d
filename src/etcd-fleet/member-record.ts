// This instance's registration record, built from what it knows now. Pure but for the version,
// read once from package.json.

import { readFileSync } from 'node:fs';
import type { TopologySnapshot } from '../topology/types.js';
import { topologyCell, type MemberRecord } from './records.js';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const MERIDIAN_VERSION = readVersion();

export function memberRecord(instance: string, region: string | null, startedAtMs: number, nowMs: number, snap: TopologySnapshot): MemberRecord {
  const topology: Record<string, string> = {};
  for (const n of snap.nodes) topology[n.name] = topologyCell(n.role, n.state, n.isUp);
  return { instance, region, version: MERIDIAN_VERSION, startedAtMs, heartbeatAtMs: nowMs, topology };
}
