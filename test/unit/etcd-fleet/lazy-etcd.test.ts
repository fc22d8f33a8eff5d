// An instance without `fleet:` never loads the etcd client (etcd3, gRPC): importing the server
// does not, only EtcdStore.open does (and only a configured fleet calls it).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const etcdModules = (): string[] => Object.keys(createRequire(import.meta.url).cache).filter((k) => /[\\/](etcd3|@grpc|cockatiel)[\\/]/.test(k));

describe('etcd3 is loaded lazily', () => {
  it('importing the server loads no etcd or gRPC module; opening a fleet store does', async () => {
    await import('../../../src/server.js');
    expect(etcdModules()).toEqual([]);
    const { EtcdStore } = await import('../../../src/etcd-fleet/etcd-store.js');
    const store = await EtcdStore.open({
      endpoints: ['http://127.0.0.1:1'],
      prefix: '/m',
      instance: 'x',
      tls: null,
      user: null,
      password: null,
      ackTimeoutMs: 100,
      callTimeoutMs: 100,
      leaseTtlMs: 2000,
      syncIntervalMs: 100,
    });
    store.close();
    expect(etcdModules().length).toBeGreaterThan(0);
  });
});
