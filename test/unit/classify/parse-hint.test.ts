// Route hints in comments and the values SET meridian.route accepts.

import { describe, expect, it } from 'vitest';
import { parseHint, parseRouteValue } from '../../../src/classify/parse-hint.js';

describe('parseHint', () => {
  it('reads route=master|replica and node=NAME, in any case and spacing', () => {
    expect(parseHint('/* meridian: route=master */')).toEqual({ route: 'master' });
    expect(parseHint('-- Meridian : Route = Replica')).toEqual({ route: 'replica' });
    expect(parseHint('/* meridian: node=eu-west.1 */')).toEqual({ node: 'eu-west.1' });
    expect(parseHint('/* meridian: route=node=n2 */')).toEqual({ node: 'n2' });
    expect(parseHint('/* app=x, meridian: route=master, trace=y */')).toEqual({ route: 'master' });
  });

  it('ignores anything else', () => {
    expect(parseHint('/* meridian: route=primary-ish */')).toBeNull();
    expect(parseHint('/* meridian route=master */')).toBeNull();
    expect(parseHint('/* route=master */')).toBeNull();
  });
});

describe('parseRouteValue', () => {
  it('accepts master, replica, node=NAME and default', () => {
    expect(parseRouteValue('MASTER')).toEqual({ route: 'master' });
    expect(parseRouteValue(' replica ')).toEqual({ route: 'replica' });
    expect(parseRouteValue('node=NodeA')).toEqual({ node: 'NodeA' });
    expect(parseRouteValue('default')).toBeNull();
    expect(parseRouteValue('sideways')).toBeUndefined();
  });
});
