// deploy/kubernetes/: the manifests parse, and name only what exists — the ConfigMap's config
// loads with Meridian's own loader (every key known, secrets from the Secret's variables), the
// container's ports are the config's listen and admin HTTP ports, the probes use /readyz and
// /healthz with a Host the admin API accepts, the args are the CLI's, and the grace period covers
// preStop + shutdown.unready_delay + shutdown.grace.

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../../src/config/load-config.js';
import { isAllowedHost } from '../../../src/admin/http.js';

const DIR = resolve(import.meta.dirname, '../../../deploy/kubernetes');

interface Doc {
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

function docs(): Doc[] {
  const out: Doc[] = [];
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(DIR, f), 'utf8'))) {
      expect(d.errors, f).toEqual([]);
      out.push(d.toJS() as Doc);
    }
  }
  return out;
}

const SECRETS = {
  APP_PASSWORD: 'k8s-test-app-pw-1',
  PG_PASSWORD: 'k8s-test-pg-pw-2',
  ADMIN_PASSWORD: 'k8s-test-admin-pw-3',
  ADMIN_HTTP_TOKEN: 'k8s-test-token-4',
};

describe('deploy/kubernetes', () => {
  const all = docs();
  const byKind = (k: string) => all.find((d) => d.kind === k)!;

  it('has a Deployment, ConfigMap, Service and PodDisruptionBudget', () => {
    expect(all.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
  });

  it("the ConfigMap's config loads; the Deployment mounts it where its args point and serves its ports", () => {
    const cm = byKind('ConfigMap') as Doc & { data: Record<string, string> };
    const cfg = parseConfigText(cm.data['meridian.yaml']!, 'configmap.yaml', { env: SECRETS });
    expect(cfg.admin.http?.port).toBeGreaterThan(0);
    const dep = byKind('Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            terminationGracePeriodSeconds: number;
            containers: Array<{
              args: string[];
              envFrom: Array<{ secretRef: { name: string } }>;
              ports: Array<{ name: string; containerPort: number }>;
              readinessProbe: { httpGet: { path: string; port: string; httpHeaders: Array<{ name: string; value: string }> } };
              livenessProbe: { httpGet: { path: string; port: string; httpHeaders: Array<{ name: string; value: string }> } };
              startupProbe: { httpGet: { path: string; port: string; httpHeaders: Array<{ name: string; value: string }> } };
              lifecycle: { preStop: { sleep: { seconds: number } } };
              volumeMounts: Array<{ name: string; mountPath: string }>;
            }>;
            volumes: Array<{ name: string; configMap: { name: string } }>;
          };
        };
      };
    };
    const pod = dep.spec.template.spec;
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['--config', '/etc/meridian/meridian.yaml']);
    const mount = c.volumeMounts.find((m) => m.mountPath === '/etc/meridian')!;
    expect(pod.volumes.find((v) => v.name === mount.name)?.configMap.name).toBe(cm.metadata.name);
    const port = (name: string) => c.ports.find((p) => p.name === name)?.containerPort;
    expect(port('postgres')).toBe(cfg.listen.port);
    expect(port('admin-http')).toBe(cfg.admin.http!.port);
    expect(cfg.listen.host).toBe('0.0.0.0');
    // Probes: the endpoints the admin API serves without a token, with a Host it accepts.
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.startupProbe.httpGet.path).toBe('/healthz');
    for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(p.httpGet.port).toBe('admin-http');
      const host = p.httpGet.httpHeaders.find((h) => h.name === 'Host')!.value;
      expect(isAllowedHost(host, cfg.admin.http!.host, cfg.admin.http!.allowedHosts)).toBe(true);
    }
    // Every variable the config reads comes from the Secret the Deployment names.
    expect(c.envFrom[0]!.secretRef.name).toBe('meridian-secrets');
    for (const v of cm.data['meridian.yaml']!.matchAll(/\$\{(\w+)\}/g)) expect(Object.keys(SECRETS)).toContain(v[1]);
    const needS = c.lifecycle.preStop.sleep.seconds + (cfg.shutdown.unreadyDelayMs + cfg.shutdown.graceMs) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(needS);
  });

  it('the Service and the PodDisruptionBudget select the Deployment’s pods and name its ports', () => {
    const dep = byKind('Deployment') as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } };
    const labels = dep.spec.template.metadata.labels;
    const svc = byKind('Service') as unknown as { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } };
    const pdb = byKind('PodDisruptionBudget') as unknown as { spec: { selector: { matchLabels: Record<string, string> } } };
    expect(labels).toMatchObject(svc.spec.selector);
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => p.targetPort).sort()).toEqual(['admin-http', 'postgres']);
  });
});
