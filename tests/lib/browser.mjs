// Debian's headless Chromium, the way every browser test starts it: no sandbox (tests run as
// root), and none of the background traffic a first run would start (updates, sync, QUIC).
//
//   const browser = await launchChromium();
//   const page = await browser.newPage();
//
// `args` adds Chromium flags, e.g. ['--ignore-certificate-errors-spki-list=PIN'] to trust one
// test certificate (tests/integration/tls.test.mjs).
import { chromium } from 'playwright-core';

export function launchChromium({ args = [] } = {}) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
  });
}
