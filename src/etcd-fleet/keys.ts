// Where the etcd fleet keeps things: every key lives under fleet.prefix. Pure string work.
//   <prefix>/members/<instance>       this instance's registration (under its lease)
//   <prefix>/drains/<node>            the fleet's last DRAIN or UNDRAIN of a node (its mod revision
//                                     names the operation)
//   <prefix>/acks/<node>/<instance>   an instance's acknowledgement of that operation (under its lease)
// Names are plain (NODE_NAME, fleet.instance's pattern), so "/" never appears inside one; a key
// that does not fit the layout (written by hand, another tool) is ignored, never trusted.

export interface FleetKeys {
  readonly members: string;
  readonly drains: string;
  readonly acks: string;
  member(instance: string): string;
  drain(node: string): string;
  acksOf(node: string): string;
  ack(node: string, instance: string): string;
}

/** The key layout under `prefix` (a leading "/", no trailing one: resolve-config.ts). */
export function fleetKeys(prefix: string): FleetKeys {
  const members = `${prefix}/members/`;
  const drains = `${prefix}/drains/`;
  const acks = `${prefix}/acks/`;
  return {
    members,
    drains,
    acks,
    member: (instance) => members + instance,
    drain: (node) => drains + node,
    acksOf: (node) => `${acks}${node}/`,
    ack: (node, instance) => `${acks}${node}/${instance}`,
  };
}

/** The one name after `dir` in `key` (a member, a node, an acknowledging instance), or null when the key does not fit. */
export function nameUnder(dir: string, key: string): string | null {
  if (!key.startsWith(dir)) return null;
  const name = key.slice(dir.length);
  return name === '' || name.includes('/') || name.length > 200 ? null : name;
}
