// vitest global setup (main process, once per run). Starts NO cluster: it sweeps what killed runs left
// behind, creates this run's root dir (shared with the workers through MERIDIAN_TEST_ROOT) and starts
// the cluster broker that starts shared clusters on first use. Teardown stops them and removes the root.
import { tmpdir } from 'node:os';
import type { TestProject } from 'vitest/node';
import { BROKER_ENV, startBroker } from './broker.js';
import { destroyTreeSync, sweepStaleRunRoots, trackDir, untrackDir } from './cleanup.js';
import { startCluster } from './cluster.js';
import { createRunRoot, RUN_ROOT_ENV, tmpBase } from './workspace.js';

declare module 'vitest' {
  export interface ProvidedContext {
    meridianClusterBroker: string;
    meridianTestRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const swept = sweepStaleRunRoots([tmpBase(), tmpdir(), '/tmp']);
  if (swept.length) console.warn(`removed test dirs of earlier runs that did not clean up: ${swept.join(', ')}`);
  const root = createRunRoot();
  trackDir(root);
  process.env[RUN_ROOT_ENV] = root;
  const broker = await startBroker(startCluster);
  process.env[BROKER_ENV] = broker.url;
  project.provide('meridianClusterBroker', broker.url);
  project.provide('meridianTestRoot', root);
  return async () => {
    const t0 = performance.now();
    await broker.close();
    destroyTreeSync(root);
    if (process.env.MERIDIAN_TEST_VERBOSE) console.log(`test clusters stopped in ${Math.round(performance.now() - t0)} ms`);
    untrackDir(root);
    delete process.env[BROKER_ENV];
    delete process.env[RUN_ROOT_ENV];
  };
}
