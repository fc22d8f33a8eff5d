// The operator page's "last failovers and drains": a bounded ring of the topology store's change
// events (node up/down and evictions, role and master changes, split brain, drain states, nodes
// added or removed by a reload), each with its time and one line of text. Fed by the store's event
// listener (admin/console.ts subscribes); read by GET /ui/state. Pure: no I/O, the clock is passed in.
// It holds at most `capacity` entries: the oldest is overwritten, so it never grows.

import type { TopologyEvent } from '../topology/events.js';

/** health: a node up, down, evicted, its role; failover: the set of masters, split brain; drain: operator states; config: a reload. */
export type EventKind = 'health' | 'failover' | 'drain' | 'config';

export interface LoggedEvent {
  /** Increases by one per event recorded since start (the page can tell new entries). */
  readonly seq: number;
  readonly atMs: number;
  readonly kind: EventKind;
  readonly type: TopologyEvent['type'];
  /** The node it is about; null for a change of the master set. */
  readonly node: string | null;
  readonly text: string;
}

export const EVENT_LOG_CAPACITY = 50;

const list = (names: readonly string[]): string => (names.length === 0 ? 'none' : names.join(', '));

/** One line for an event, and its kind. */
export function describeEvent(ev: TopologyEvent): { kind: EventKind; node: string | null; text: string } {
  switch (ev.type) {
    case 'node-up':
      return { kind: 'health', node: ev.node, text: `${ev.node} up (${ev.reason})` };
    case 'node-down':
      return { kind: 'health', node: ev.node, text: `${ev.node} down: ${ev.reason}` };
    case 'node-evicted':
      return { kind: 'health', node: ev.node, text: `${ev.node} evicted on live traffic: ${ev.reason}` };
    case 'role-changed':
      return { kind: 'health', node: ev.node, text: `${ev.node} role ${ev.from} → ${ev.to}` };
    case 'master-changed':
      return { kind: 'failover', node: null, text: `masters ${list(ev.before)} → ${list(ev.after)}` };
    case 'split-brain':
      return { kind: 'failover', node: ev.node, text: `split brain: ${ev.node} claims master while ${ev.preferred} is master; writes stay on ${ev.preferred}` };
    case 'split-brain-resolved':
      return { kind: 'failover', node: ev.node, text: `split brain of ${ev.node} resolved` };
    case 'state-changed':
      return { kind: 'drain', node: ev.node, text: drainText(ev.node, ev.to, ev.reason) };
    case 'node-added':
      return { kind: 'config', node: ev.node, text: `${ev.node} added` };
    case 'node-removed':
      return { kind: 'config', node: ev.node, text: `${ev.node} removed (${ev.reason})` };
    case 'writes-held':
      return { kind: 'failover', node: null, text: `new writes held: ${ev.reason}` };
    case 'writes-released':
      return { kind: 'failover', node: null, text: `held writes released after ${Math.round(ev.heldMs)} ms` };
  }
}

function drainText(node: string, to: string, reason: string): string {
  switch (to) {
    case 'draining':
      return `drain of ${node} started (${reason})`;
    case 'drained':
      return `${node} drained (${reason})`;
    case 'catching-up':
      return `${node} undrained (${reason}), catching up`;
    default:
      return `${node} readmitted (${reason})`;
  }
}

export class EventLog {
  private readonly ring: (LoggedEvent | null)[];
  private next = 0;
  private seq = 0;

  constructor(readonly capacity = EVENT_LOG_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`event log capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<LoggedEvent | null>(capacity).fill(null);
  }

  record(ev: TopologyEvent, atMs: number): LoggedEvent {
    const entry: LoggedEvent = { seq: ++this.seq, atMs, type: ev.type, ...describeEvent(ev) };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    return entry;
  }

  /** The entries kept, newest first. */
  list(): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e === null || e === undefined) break;
      out.push(e);
    }
    return out;
  }
}
