// SHOW VERSION: which runtime carries this Meridian process (Bun's native sockets or Node.js) and
// its version, as /healthz and meridian_build_info report it.

import { runtimeInfo } from '../net/runtime.js';
import { text, type AdminTable } from './table.js';

export function showVersion(): AdminTable {
  return {
    columns: [text('version'), text('runtime'), text('runtime_version')],
    rows: [[`Meridian on ${runtimeInfo.description}`, runtimeInfo.runtime, runtimeInfo.version]],
  };
}
