// The running config as flat rows for the admin console's SHOW CONFIG (and the HTTP API): one
// row per setting, keyed like the YAML ("pool.idle_timeout", "cluster.nodes[dublin].port"),
// durations in units, secrets redacted, and whether a reload can change it. Pure.
import { formatDurationMs } from './units.js';
import { isRestartOnly, yamlKeyOf } from './settings-table.js';
import type { MeridianConfig } from './types.js';

export interface ConfigRow {
  readonly key: string;
  readonly value: string;
  readonly reload: 'runtime' | 'restart';
}

const SECRET_FIELDS = new Set(['password', 'backendPassword', 'token', 'mockKey']);

function scalarText(field: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (SECRET_FIELDS.has(field)) return '[redacted]';
  // cluster.tls_ca holds the file's PEM (read at load): show how many certificates, not the text.
  if (field === 'tlsCa' && typeof value === 'string') return `PEM, ${value.split('-----BEGIN CERTIFICATE-----').length - 1} certificate(s)`;
  if (typeof value === 'number' && field.endsWith('Ms')) return formatDurationMs(value);
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function flatten(value: unknown, field: string, path: string, rows: ConfigRow[]): void {
  const row = (v: string) => rows.push({ key: path, value: v, reload: isRestartOnly(path) ? 'restart' : 'runtime' });
  if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, k, path === '' ? yamlKeyOf(k) : `${path}.${yamlKeyOf(k)}`, rows);
  } else if (Array.isArray(value) && value.length > 0 && value.every((x) => isRecord(x) && typeof x.name === 'string')) {
    for (const item of value as Array<Record<string, unknown>>) {
      for (const [k, v] of Object.entries(item)) if (k !== 'name') flatten(v, k, `${path}[${String(item.name)}].${yamlKeyOf(k)}`, rows);
    }
  } else if (value === null && (path === 'tls' || path === 'admin.http' || path === 'fleet' || path === 'fleet.tls' || path.endsWith('location'))) {
    row('off');
  } else if (path.startsWith('fleet.tls.') && typeof value === 'string') {
    // fleet.tls holds the files' PEM (read at load): never the private key, only a count for certificates.
    row(field === 'key' ? '[redacted]' : `PEM, ${value.split('-----BEGIN CERTIFICATE-----').length - 1} certificate(s)`);
  } else {
    row(scalarText(field, value));
  }
}

/** Every setting of `cfg` as a row, in config order. */
export function configRows(cfg: MeridianConfig): ConfigRow[] {
  const rows: ConfigRow[] = [];
  flatten(cfg, '', '', rows);
  return rows;
}
