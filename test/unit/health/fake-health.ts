// A fake clock (timers fire only when advanced) and scripted probe channels for HealthMonitor tests.
import type { Clock } from '../../../src/health/health-monitor.js';
import type { RawProbe } from '../../../src/health/probe-result.js';
import type { ProbeChannel } from '../../../src/health/prober.js';
import type { HeartbeatWrite } from '../../../src/health/probe-sql.js';
import { parseConfigText } from '../../../src/config/load-config.js';
import type { MeridianConfig } from '../../../src/config/types.js';

export class FakeClock implements Clock {
  t = 1_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers.delete(h as number);
  };

  /** Run every timer due within ms, in time order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.timers) if (e[1].at <= end && (next === null || e[1].at < next[1].at)) next = e;
      if (next === null) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export function raw(over: Partial<RawProbe> = {}): RawProbe {
  return {
    sentAtMs: 0,
    receivedAtMs: 0,
    networkRttMs: 1,
    inRecovery: false,
    isReadOnly: false,
    currentLsn: null,
    insertLsn: null,
    receiveLsn: null,
    replayLsn: null,
    replayAgeMs: null,
    syncApplyNames: null,
    walAppName: null,
    subscriptions: null,
    unreplicated: null,
    replication: null,
    slots: null,
    mySlots: null,
    spockLag: null,
    heartbeat: null,
    heartbeatWrittenTs: null,
    heartbeatError: null,
    isPglogicalMissing: false,
    ...over,
  };
}

export type Script = (node: string, hb: HeartbeatWrite | null, now: number) => RawProbe | Error;

/** Channels whose answers come from `script`; records every probe time per node. */
export function scriptedConnector(clock: FakeClock, script: Script) {
  const probes: Record<string, number[]> = {};
  const connect = (node: { name: string }): ProbeChannel => ({
    probe: async (hb) => {
      (probes[node.name] ??= []).push(clock.now());
      const r = script(node.name, hb, clock.now());
      if (r instanceof Error) throw r;
      return { ...r, sentAtMs: clock.now(), receivedAtMs: clock.now() };
    },
    close: async () => undefined,
  });
  return { connect, probes };
}

export function testConfig(kind: MeridianConfig['cluster']['kind'] = 'pglogical', extra = ''): MeridianConfig {
  return parseConfigText(
    `listen: { host: 127.0.0.1, port: 0 }
users:
  - { name: app, password: "x", auth: scram-sha-256 }
cluster:
  kind: ${kind}
  nodes:
    - { name: a, host: 127.0.0.1, port: 5501, region: r1 }
    - { name: b, host: 127.0.0.1, port: 5502, region: r2 }
health: { interval: 1s, timeout: 500ms, rise: 2, fall: 2, fast_interval: 250ms, jitter: 0, user: postgres, database: app }
routing: { readmit_max_lag: 1s }
${extra}
`,
    'test.yaml',
  );
}
