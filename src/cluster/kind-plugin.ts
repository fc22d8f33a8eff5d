// The interface every cluster kind implements (src/cluster/kinds/<kind>.ts): everything Meridian
// does differently per replication system — probe SQL and how to read it, role, lag, the
// read-your-writes watermark, split-brain, what a standby refuses, the reads_on_masters default
// and the heartbeat table's setup. Types only. A plug-in is a plain object of pure functions and
// data: no I/O, no state; the shared pieces (probe base fields, lag math) are helpers in health/.

import type { ReadsOnMasters } from '../config/types.js';
import type { LagReporting } from '../health/lag-problem.js';
import type { LagContext, NodeLag } from '../health/node-lag.js';
import type { RawProbe } from '../health/probe-result.js';
import type { KindProbe } from '../health/probe-sql.js';
import type { MasterMarks, SeenWrites } from '../health/seen-writes.js';
import type { NodeRole, NodeSnapshot } from '../topology/types.js';
import type { ClusterKind } from './kinds/names.js';

/** Kinds with one master: which of several nodes claiming master keeps the writes. */
export interface SplitBrainRule {
  /**
   * The preferred master's name when more than one up node claims master, else null. `incumbent`:
   * the master that held writes last (the store remembers it). Must depend only on stable facts,
   * so the choice never alternates between probes.
   */
  preferred(nodes: readonly NodeSnapshot[], incumbent: string | null): string | null;
}

/** Adding the heartbeat table to the kind's replication set (meridian init-heartbeat). */
export interface ReplicationSetSql {
  /** A query that returns a row when the table is in the set. `rel`: a regclass expression, `set`: a quoted literal. */
  memberSql(rel: string, set: string): string;
  /** The statement that adds the table to the set. */
  addSql(rel: string, set: string): string;
}

/** How `meridian init-heartbeat` prepares the heartbeat table for this kind. */
export interface HeartbeatSetup {
  /** The extension that replicates the table; init-heartbeat refuses a database without it. Null: none. */
  readonly extension: string | null;
  /** Null: Meridian adds the table to no replication set (the operator's tool replicates it, or none is needed). */
  readonly replicationSet: ReplicationSetSql | null;
  /** What init-heartbeat reports when there is no replication set to join. */
  readonly note: string;
}

export interface ClusterKindPlugin<K extends ClusterKind = ClusterKind> extends KindProbe, LagReporting {
  readonly name: K;

  // Probe (KindProbe: probeFields, usesHeartbeat) and how to read it.
  /** master or replica from the node's own probe (the base rule is health/probe-result.ts baseRole). */
  roleOf(p: RawProbe): NodeRole;

  // Lag (LagReporting: lagSource, lagProblem, replicationHint).
  /** One node's lag from its fresh probe and its peers' latest ones. */
  lag(ctx: LagContext): NodeLag;

  // Read-your-writes.
  /** Masters' probes record WAL insert positions (LSN marks) that standbys' replay positions are compared with. */
  readonly tracksWalMarks: boolean;
  /** A node's watermarks from its fresh probe; `masters`: the marks of the masters it may follow (tracksWalMarks only). */
  seenWrites(raw: RawProbe, masters: readonly MasterMarks[]): SeenWrites | null;

  // Topology and routing.
  /** One master at a time: the split-brain rule. Null: several masters are normal (no split-brain). */
  readonly splitBrain: SplitBrainRule | null;
  /** Every writable node is a master and lag comes from the heartbeat: reads follow writes while lag is unknown everywhere. */
  readonly isMultiMaster: boolean;
  /** routing.reads_on_masters when the config does not set it. */
  readonly defaultReadsOnMasters: ReadsOnMasters;
  /** SQLSTATEs a replica of this kind answers to a read a master would run: the read is retried on a master. */
  readonly standbyRefusals: ReadonlySet<string>;
  /** A session whose default isolation is SERIALIZABLE reads on a master (hot standbys refuse SERIALIZABLE). */
  readonly serializableReadsNeedMaster: boolean;

  // Heartbeat setup.
  readonly heartbeatSetup: HeartbeatSetup;
}
