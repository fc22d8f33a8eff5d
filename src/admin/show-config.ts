// SHOW CONFIG: the running configuration, one row per setting keyed like the YAML
// ("pool.size", "cluster.nodes[n1].port"), secrets redacted, with whether a reload can change it.
// The rows come from config/show-config.ts (the config module owns naming and redaction).

import { configRows } from '../config/show-config.js';
import type { MeridianConfig } from '../config/types.js';
import { text, type AdminTable } from './table.js';

export function showConfig(cfg: MeridianConfig): AdminTable {
  return {
    columns: [text('key'), text('value'), text('reload')],
    rows: configRows(cfg).map((r) => [r.key, r.value, r.reload]),
  };
}
