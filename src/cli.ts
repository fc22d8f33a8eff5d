#!/usr/bin/env node
// The `meridian` command: parses arguments and runs one subcommand. Owns process concerns
// (signals, exit codes); everything else lives in the modules it calls.

import { parseArgs } from 'node:util';
import { runCheckConfig } from './config/check-config-command.js';
import { loadConfigFile } from './config/load-config.js';
import { createLogger } from './logger.js';
import { detectRuntime } from './net/runtime.js';
import { chooseRuntime, DEFAULT_RUNTIME, findBun, REEXEC_MARK, runUnder } from './net/runtime-exec.js';
import { Meridian } from './server.js';

const HELP = `meridian — a query-routing proxy for replicated PostgreSQL

Usage:
  meridian --config FILE              run the proxy (SIGHUP reloads, SIGTERM stops gracefully)
  meridian check-config FILE          validate a config file
  meridian classify [--json] [--dsn URL]
                                      classify SQL from stdin (one statement per line, or a JSON array)
  meridian init-heartbeat --config FILE
                                      create the heartbeat table on every node (pglogical/spock/heartbeat kinds)
  meridian demo [--no-traffic]        start a local 3-region demo cluster with Meridian in front
                                      (from a source checkout: it reuses the test harness)
  meridian --help                     this text

Options:
  --runtime node|bun                  run on this runtime (also MERIDIAN_RUNTIME). Default: the proxy
                                      and the demo run on Bun (its native sockets; the bun package,
                                      else bun on PATH, else Node.js), other commands where started
`;

async function runProxy(configPath: string): Promise<number> {
  const cfg = loadConfigFile(configPath);
  const logger = createLogger(cfg.log.level);
  const { startHttp } = await import('./admin/http.js');
  let m: Meridian;
  if (cfg.workers > 1) {
    // Several processes (fleet/): the primary forks and supervises; each worker serves.
    const cluster = (await import('node:cluster')).default;
    if (cluster.isPrimary) return (await import('./fleet/primary.js')).runPrimary(cfg, configPath, logger);
    m = await (await import('./fleet/worker.js')).startWorker(cfg, logger, configPath);
  } else {
    m = new Meridian(cfg, { logger, configPath });
    await m.start();
  }
  const http = cfg.admin.http !== null ? await startHttp(m.admin) : null;
  m.fleet?.serving();
  m.admin.shutdown.onDone(async () => {
    m.fleet?.shutdownInstance();
    await http?.close();
    process.exit(0);
  });
  process.on('SIGHUP', () => {
    if (m.fleet !== null) return logger.warn({}, 'SIGHUP ignored by a worker: send it to the primary process');
    // Reads the file once, drains removed nodes, then applies it; a bad file keeps the running config.
    void m.admin.reloads.reload().then((r) => {
      if (!r.ok) logger.error({ err: r.message }, 'reload failed');
    });
  });
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: sig }, 'stopping');
    void m.stop().then(async () => {
      await http?.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise(() => {}); // runs until a signal
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'check-config': {
      const file = rest[0];
      if (!file) {
        process.stderr.write('usage: meridian check-config FILE\n');
        return 2;
      }
      return runCheckConfig(file, process.stdout);
    }
    case 'classify': {
      const { runClassifyCommand } = await import('./classify/classify-command.js');
      return runClassifyCommand(rest, process.stdin, process.stdout);
    }
    case 'init-heartbeat': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string' } } });
      if (!values.config) {
        process.stderr.write('usage: meridian init-heartbeat --config FILE\n');
        return 2;
      }
      const { runInitHeartbeat } = await import('./health/init-heartbeat-command.js');
      return runInitHeartbeat(loadConfigFile(values.config), process.stdout);
    }
    case 'demo': {
      const { runDemo } = await import('./demo-command.js');
      return runDemo(rest, process.stderr);
    }
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(HELP);
      return cmd === undefined ? 2 : 0;
    default: {
      const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: false });
      if (typeof values.config === 'string') return runProxy(values.config);
      process.stderr.write(`unknown command: ${cmd}\n\n${HELP}`);
      return 2;
    }
  }
}

/** Subcommands that serve no client: they run on the runtime that started them. */
const SUBCOMMANDS = new Set(['check-config', 'classify', 'init-heartbeat', 'help', '--help', '-h']);

/** Whether the command line runs the proxy or the demo (the commands with a data path). */
function servesClients(args: readonly string[]): boolean {
  const cmd = args[0];
  if (cmd === 'demo') return true;
  if (cmd === undefined || SUBCOMMANDS.has(cmd)) return false;
  return args.some((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
}

/** The command line on the runtime it asks for (--runtime, MERIDIAN_RUNTIME): here, or in a child. */
async function start(argv: string[]): Promise<number> {
  const choice = chooseRuntime(argv, process.env);
  if (choice.error !== null) {
    process.stderr.write(`meridian: ${choice.error}\n`);
    return 2;
  }
  let runtime = choice.runtime;
  if (runtime === null && servesClients(choice.args)) {
    // No runtime named: the proxy and the demo run on the default one, if it is installed.
    if (DEFAULT_RUNTIME !== 'bun' || findBun() !== null) runtime = DEFAULT_RUNTIME;
    else if (detectRuntime() !== 'bun') process.stderr.write('meridian: bun is not installed (npm ci installs it): running on Node.js\n');
  }
  if (runtime !== null && runtime !== detectRuntime()) {
    // Started by runUnder for `runtime`, yet on the other one: starting another child would loop.
    if (process.env[REEXEC_MARK] === '1') {
      process.stderr.write(`meridian: asked to run on ${runtime}, but the executable started for it runs ${detectRuntime()}\n`);
      return 1;
    }
    return runUnder(runtime, choice.args);
  }
  return main(choice.args);
}

start(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`meridian: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
