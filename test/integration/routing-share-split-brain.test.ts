// Issue 16, bug 3, against real servers: a write pipelined behind a read must not share the
// read's backend when that node has since become a split-brain loser (a standby promoted while
// the primary still holds the writes). The sharing check is the router's (may-share-backend.ts),
// with the same node checks as routing: the write goes to the primary.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import { startPrimaryStandby, TEST_USERS, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { RawClient } from '../drivers/raw-client.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 1 });
  await cluster.exec('create table sb_events(id bigint primary key)');
  await cluster.waitReplayed(30_000);
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: 'interval: 300ms, timeout: 1s, rise: 2, fall: 2',
    extraYaml: 'routing: { max_read_lag: 5s, write_wait: 3s }',
  });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

/** inet_server_port() in the DataRow of `msgs`. */
function portIn(msgs: { name: string }[]): number {
  const row = msgs.find((m) => m.name === 'dataRow') as unknown as { fields: string[] } | undefined;
  return Number(row?.fields[0]);
}

describe('a pipelined write behind a read on a node that became a split-brain loser', () => {
  it('goes to the preferred master, not to the attached backend', async () => {
    const nodeOf = new Map(cluster.nodes.map((n) => [n.port, n.name]));
    await waitFor(() => mer.m.health.snapshot.byName.get('s1')?.lagMs !== null && mer.m.health.snapshot.byName.get('s1')?.role === 'replica', {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: () => 's1 a replica with known lag',
    });
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    try {
      // A read that ends with Flush: it keeps its backend (on the standby) attached.
      raw.send(Buffer.concat([serialize.parse({ text: 'select inet_server_port() as p' }), serialize.bind({}), serialize.execute({}), serialize.flush()]));
      const read = await raw.until('commandComplete');
      expect(nodeOf.get(portIn(read))).toBe('s1');

      await cluster.node('s1').promote();
      await waitFor(() => mer.m.health.snapshot.byName.get('s1')?.isSplitBrain === true, {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: () => 's1 seen as a split-brain loser',
      });

      raw.send(serialize.query('insert into sb_events values (1) returning inet_server_port() as p'));
      const write = await raw.until('readyForQuery');
      const node = nodeOf.get(portIn(write));
      console.log(`pipelined write behind a read on the split-brain loser s1: served by ${node}`);
      expect(node).toBe('primary');
    } finally {
      raw.socket.end();
    }
  }, 90_000);
});
