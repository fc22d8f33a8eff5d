// What every active-active kind (pglogical, spock, heartbeat) says alike: every writable node is a
// master, so no split-brain rule and reads on masters by default; reads follow writes by the
// heartbeat table, not by WAL positions; a node in recovery among them still refuses as a hot
// standby does; SERIALIZABLE runs on any master. A kind spreads these and adds its own. Data only.

import { heartbeatSeenWrites } from '../health/seen-writes.js';
import type { ClusterKindPlugin } from './kind-plugin.js';
import { HOT_STANDBY_REFUSALS } from './standby-refusals.js';

export const MULTI_MASTER = Object.freeze({
  tracksWalMarks: false,
  seenWrites: heartbeatSeenWrites,
  splitBrain: null,
  isMultiMaster: true,
  defaultReadsOnMasters: 'always',
  standbyRefusals: HOT_STANDBY_REFUSALS,
  serializableReadsNeedMaster: false,
} satisfies Partial<ClusterKindPlugin>);
