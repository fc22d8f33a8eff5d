// A throwaway PKI for TLS tests, made with openssl in a temp dir: a CA ("test-ca"), a second CA that
// signed nothing ("other-ca"), and a node certificate the test CA signed for IP 127.0.0.1 only (CN
// meridian-test-node, so "localhost" does not match it); a self-signed certificate for TLS that
// checks nothing; and a single node serving TLS with either.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSingleNode, type SingleCluster } from './cluster.js';
import { handCertToServer } from './pg-bin.js';

export interface TestPki {
  readonly dir: string;
  /** test-ca.crt: signed the node certificate. */
  readonly ca: string;
  /** other-ca.crt: a CA that signed nothing here. */
  readonly otherCa: string;
  readonly cert: string;
  readonly key: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(dir: string, name: string): string {
  const crt = join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', crt, '-days', '1', '-subj', `/CN=${name}`]);
  return crt;
}

export function makeTestPki(prefix: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const ca = makeCa(dir, 'test-ca');
  const otherCa = makeCa(dir, 'other-ca');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.crt');
  const ext = join(dir, 'san.ext');
  writeFileSync(ext, 'subjectAltName = IP:127.0.0.1\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=meridian-test-node']);
  openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', join(dir, 'test-ca.key'), '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  return { dir, ca, otherCa, cert, key };
}

export interface CertFiles {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

/** A self-signed certificate for CN localhost, in a temp dir of its own. */
export function makeSelfSignedCert(prefix: string): CertFiles {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
  return { dir, cert, key };
}

/** A single node with ssl on, serving `files` (handed to the server's OS user first). */
export function startTlsNode(files: CertFiles): Promise<SingleCluster> {
  handCertToServer(files.dir, files.cert, files.key);
  return startSingleNode({ settings: { ssl: 'on', ssl_cert_file: files.cert, ssl_key_file: files.key } });
}
