// The etcd fleet's key layout and value decoding: keys that do not fit and hostile values
// (garbage JSON, wrong types, huge values) decode to null, never throw.
import { describe, expect, it } from 'vitest';
import { fleetKeys, nameUnder } from '../../../src/etcd-fleet/keys.js';
import { decodeAck, decodeDrain, decodeMember, encodeAck, encodeDrain, encodeMember, type AckRecord } from '../../../src/etcd-fleet/records.js';

describe('fleet key layout', () => {
  const k = fleetKeys('/meridian/prod');
  it('puts members, drains and acknowledgements under the prefix', () => {
    expect(k.member('eu-1')).toBe('/meridian/prod/members/eu-1');
    expect(k.drain('n1')).toBe('/meridian/prod/drains/n1');
    expect(k.ack('n1', 'eu-1')).toBe('/meridian/prod/acks/n1/eu-1');
    expect(k.acksOf('n1')).toBe('/meridian/prod/acks/n1/');
  });
  it('reads the one name under a directory, and nothing else', () => {
    expect(nameUnder(k.drains, '/meridian/prod/drains/n1')).toBe('n1');
    expect(nameUnder(k.drains, '/meridian/prod/drains/')).toBeNull();
    expect(nameUnder(k.drains, '/meridian/prod/drains/n1/extra')).toBeNull();
    expect(nameUnder(k.drains, '/meridian/other/drains/n1')).toBeNull();
    expect(nameUnder(k.acksOf('n1'), '/meridian/prod/acks/n1/eu-1')).toBe('eu-1');
    expect(nameUnder(k.drains, `/meridian/prod/drains/${'x'.repeat(300)}`)).toBeNull();
  });
  it('a prefix is not a prefix of its sibling: /m/a never reads /m/ab', () => {
    expect(nameUnder(fleetKeys('/m/a').drains, '/m/ab/drains/n1')).toBeNull();
  });
});

const HOSTILE: readonly string[] = [
  '',
  '{not json',
  'null',
  '[]',
  '[1,2,3]',
  '"a string"',
  '42',
  '{}',
  '{"__proto__": {"polluted": true}}',
  `{"x": "${'a'.repeat(70_000)}"}`,
  '\u0000\u0001',
];

describe('fleet records', () => {
  it('round-trip', () => {
    const m = { instance: 'a', region: 'eu', version: '0.1.0', startedAtMs: 1, heartbeatAtMs: 2, topology: { n1: 'master active up' } };
    expect(decodeMember(encodeMember(m))).toEqual(m);
    const d = { op: 'drain' as const, by: 'a', atMs: 5, timeoutMs: 30_000 };
    expect(decodeDrain(encodeDrain(d))).toEqual(d);
    expect(decodeDrain(Buffer.from(encodeDrain({ ...d, op: 'undrain', timeoutMs: null })))).toEqual({ ...d, op: 'undrain', timeoutMs: null });
    const a: AckRecord = { rev: 9, phase: 'done', outcome: 'drained', waitedMs: 10, cancelled: 0, closed: 1, left: 0, error: null };
    expect(decodeAck(encodeAck(a))).toEqual(a);
  });

  it.each(HOSTILE)('hostile value %# decodes to null everywhere', (v) => {
    expect(decodeMember(v)).toBeNull();
    expect(decodeDrain(v)).toBeNull();
    expect(decodeAck(v)).toBeNull();
    expect(decodeMember(Buffer.from(v))).toBeNull();
  });

  it('wrong types and values are refused field by field', () => {
    expect(decodeDrain('{"op":"explode","by":"a","atMs":1}')).toBeNull();
    expect(decodeDrain('{"op":"drain","by":"a","atMs":-1}')).toBeNull();
    expect(decodeDrain('{"op":"drain","by":"a","atMs":1,"timeoutMs":"30s"}')).toBeNull();
    expect(decodeDrain('{"op":"drain","by":"a","atMs":1,"timeoutMs":1e300}')).toBeNull();
    expect(decodeDrain('{"op":"drain","by":"a","atMs":1}')).toEqual({ op: 'drain', by: 'a', atMs: 1, timeoutMs: null });
    expect(decodeMember('{"instance":"a","region":null,"version":"1","startedAtMs":1,"heartbeatAtMs":1,"topology":[]}')).toBeNull();
    expect(decodeMember('{"instance":"a","region":null,"version":"1","startedAtMs":1,"heartbeatAtMs":1,"topology":{"n1":5}}')).toBeNull();
    expect(decodeAck('{"rev":1,"phase":"later","outcome":"x","waitedMs":0,"cancelled":0,"closed":0,"left":0,"error":null}')).toBeNull();
    expect(decodeAck('{"rev":"1","phase":"done","outcome":"x","waitedMs":0,"cancelled":0,"closed":0,"left":0,"error":null}')).toBeNull();
  });
});
