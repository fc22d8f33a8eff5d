import { describe, expect, it } from 'vitest';
import { clientRegionDistancesMs, distanceToRttMs, haversineKm, proxyDistancesMs } from '../../../src/router/proximity.js';
import { node, PLACES, policy } from './fixtures.js';

describe('proximity', () => {
  it('haversine matches known great-circle distances', () => {
    expect(haversineKm(PLACES.dublin, PLACES.london)).toBeCloseTo(464, -1);
    expect(haversineKm(PLACES.london, PLACES.frankfurt)).toBeCloseTo(637, -1);
    expect(haversineKm(PLACES.dublin, PLACES.dublin)).toBe(0);
    expect(haversineKm({ lat: 0, lon: 179.5 }, { lat: 0, lon: -179.5 })).toBeCloseTo(111.2, 0); // across the antimeridian
  });

  it('converts km to an RTT estimate at 100 km per ms', () => {
    expect(distanceToRttMs(5000)).toBe(50);
  });

  it('proxy estimates: location first, same region 0, otherwise unknown', () => {
    const nodes = [
      node('dub', { region: 'eu', location: PLACES.dublin }),
      node('eu-noloc', { region: 'eu' }),
      node('us-noloc', { region: 'us' }),
      node('us2-noloc', { region: 'us2' }),
      node('us2-loc', { region: 'us2', location: PLACES.virginia }),
    ];
    const d = proxyDistancesMs(nodes, policy({ proxyLocation: PLACES.london, proxyRegion: 'eu' }));
    expect(d[0]).toBeCloseTo(4.64, 1);
    expect(d[1]).toBe(0);
    expect(d[2]).toBe(Infinity);
    // a node without location stands at its region's other nodes
    expect(d[3]).toBeCloseTo(haversineKm(PLACES.london, PLACES.virginia) / 100, 5);
    expect(Array.from(proxyDistancesMs(nodes, policy()))).toEqual([Infinity, Infinity, Infinity, Infinity, Infinity]);
  });

  it('client region: nodes of the region are 0, others measured from the region nodes', () => {
    const nodes = [
      node('dub', { region: 'eu', location: PLACES.dublin }),
      node('fra', { region: 'eu', location: PLACES.frankfurt }),
      node('va', { region: 'us', location: PLACES.virginia }),
    ];
    const d = clientRegionDistancesMs(nodes, policy(), 'us');
    expect(d?.[2]).toBe(0);
    expect(d?.[0]).toBeCloseTo(haversineKm(PLACES.virginia, PLACES.dublin) / 100, 5);
    expect(clientRegionDistancesMs(nodes, policy(), 'mars')).toBeNull();
  });
});
