// `meridian check-config FILE`: load and validate a config file, print one summary line or the
// errors (each with key path and line:column). Exit status 0 valid, 1 invalid. No side effects
// beyond reading the file (and its secret files) and writing to `out`.
import { ConfigError, loadConfigFile } from './load-config.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function runCheckConfig(path: string, out: NodeJS.WritableStream): Promise<number> {
  try {
    const cfg = loadConfigFile(path);
    out.write(`ok: ${plural(cfg.cluster.nodes.length, 'node')}, kind ${cfg.cluster.kind}, ${plural(cfg.users.length, 'user')}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.write(`error: ${err.message}\n`);
    return 1;
  }
}
