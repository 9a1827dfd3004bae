// Headless Chromium (Debian's package) driven by playwright-core, for tests of what a person sees.
import { chromium, type Browser } from 'playwright-core';
import { ensureCommand } from '../../scripts/shared/aptPackages.ts';

export const CHROMIUM_HINT = 'Install Chromium: sudo apt-get install -y chromium';

export async function launchBrowser(): Promise<Browser> {
  const executablePath = ensureCommand('chromium', 'chromium', CHROMIUM_HINT);
  return chromium.launch({
    executablePath,
    headless: true,
    // No sandbox as root; no background traffic (this machine's network is closed).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
