// Test support: headless Chromium for the operator page's test, driven by puppeteer-core (no
// browser download: the machine's own Chromium, which .ci/run installs from Debian's `chromium`).
// findChromium() looks for MERIDIAN_CHROMIUM, then `chromium` and `chromium-browser` on PATH, and
// fails with a message that says what to install. launchBrowser() bounds the start-up.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const NAMES = ['chromium', 'chromium-browser'];

/** The Chromium executable, or an Error naming what is missing. */
export function findChromium(): string {
  const fromEnv = process.env.MERIDIAN_CHROMIUM;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    for (const name of NAMES) {
      const p = join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  throw new Error(
    `no Chromium found: looked for ${NAMES.join(' and ')} on PATH (${process.env.PATH ?? ''}); install Debian's chromium (apt-get install chromium, as .ci/run does) or set MERIDIAN_CHROMIUM to its path`,
  );
}

/** Headless Chromium; as root it needs --no-sandbox. */
export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    timeout: 60_000,
    protocolTimeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}
