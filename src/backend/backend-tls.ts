// TLS from Meridian to the nodes (cluster.tls, cluster.tls_ca), with libpq's sslmode meanings:
// prefer/require encrypt without checking the certificate; verify-ca checks that a trusted CA
// signed it; verify-full also checks that it names the host Meridian connects to. One place for
// the options of Meridian's own connections and of the pg clients (probes, init-heartbeat).

import net from 'node:net';
import tls from 'node:tls';
import type { BackendTlsMode, ClusterConfig } from '../config/types.js';

export interface BackendTls {
  readonly mode: BackendTlsMode;
  /** PEM of the CA(s) to trust (cluster.tls_ca; the config requires it for verify-ca / verify-full). */
  readonly ca: string | null;
}

export function backendTls(cluster: ClusterConfig): BackendTls {
  return { mode: cluster.tls, ca: cluster.tlsCa };
}

/** The connection fails when the node does not offer TLS. */
export function isTlsRequired(mode: BackendTlsMode): boolean {
  return mode !== 'disable' && mode !== 'prefer';
}

/** Options for tls.connect over an existing socket to `host` (also the `ssl` option of a pg.Client). */
export function tlsOptions(t: BackendTls, host: string): tls.ConnectionOptions {
  const servername = net.isIP(host) ? undefined : host;
  if (t.mode !== 'verify-ca' && t.mode !== 'verify-full') return { servername, rejectUnauthorized: false };
  return {
    servername,
    rejectUnauthorized: true,
    ...(t.ca !== null ? { ca: t.ca } : {}),
    // verify-full checks the configured host (a name or an IP address in the certificate's SAN);
    // verify-ca trusts any name the CA signed, as libpq does.
    checkServerIdentity: t.mode === 'verify-full' ? (_name, cert) => tls.checkServerIdentity(host, cert) : () => undefined,
  };
}
