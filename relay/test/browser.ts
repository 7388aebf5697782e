/**
 * Headless Chromium for the console's tests and screenshot: Debian's `chromium` package
 * driven by playwright-core (no browser download). CHROMIUM_PATH overrides where it is.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('no Chromium: install Debian\'s package (apt-get install chromium) or set CHROMIUM_PATH');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
