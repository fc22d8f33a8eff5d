// SHOW CONFIG: the running configuration flattened to YAML key paths ("pool.size",
// "cluster.nodes[n1].port"), one row per leaf, with whether a reload can change it. Secrets
// (passwords, the HTTP token) are never shown: they read "[redacted]". Reads only.

import { SETTINGS, type Reload } from '../config/settings-table.js';
import type { MeridianConfig } from '../config/types.js';
import { formatDurationMs } from '../config/units.js';
import { text, type AdminTable } from './table.js';

const SECRET_FIELDS = new Set(['password', 'backendPassword', 'token']);
export const REDACTED = '[redacted]';

function yamlKey(field: string): string {
  return field.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function formatLeaf(field: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (SECRET_FIELDS.has(field)) return REDACTED;
  if (typeof v === 'number' && field.endsWith('Ms')) return formatDurationMs(v);
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ');
  return String(v);
}

/** [path, value] for every leaf; named lists are keyed by name, other lists by index. */
export function flattenConfig(cfg: MeridianConfig): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  const walk = (v: unknown, field: string, path: string): void => {
    if (isRecord(v)) {
      for (const [k, child] of Object.entries(v)) walk(child, k, path === '' ? yamlKey(k) : `${path}.${yamlKey(k)}`);
    } else if (Array.isArray(v) && v.length > 0 && v.every(isRecord)) {
      v.forEach((item, i) => {
        const name = typeof item.name === 'string' ? item.name : String(i);
        walk(item, field, `${path}[${name}]`);
      });
    } else {
      out.push([path, formatLeaf(field, v)]);
    }
  };
  walk(cfg, '', '');
  return out;
}

/** runtime/restart for a flattened path, from the settings table (closest documented parent). */
export function reloadOf(path: string): Reload | null {
  let key = path.replace(/\[[^\]]*\]/g, '[]');
  for (;;) {
    const s = SETTINGS.find((x) => x.key === key) ?? SETTINGS.find((x) => x.key.startsWith(`${key}.`));
    if (s !== undefined) return s.reload;
    const cut = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
    if (cut <= 0) return null;
    key = key.slice(0, cut);
  }
}

export function showConfig(cfg: MeridianConfig): AdminTable {
  return {
    columns: [text('key'), text('value'), text('reload')],
    rows: flattenConfig(cfg).map(([k, v]) => [k, v, reloadOf(k)]),
  };
}
