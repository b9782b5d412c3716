// Headless Chromium for tests and screenshots: Debian's /usr/bin/chromium
// driven by playwright-core (never `npx playwright install`: it downloads a
// browser, which fails here). Flags from ../shared/COMPONENTS.md; a fresh
// user-data-dir per launch, removed on close.
//
//   node dist/scripts/chromium.js screenshot <url | file.html> <out.png> [--width 1400] [--height 900] [--full-page]
//                                            [--wait-for <css selector>] [--wait-ms N]
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WA_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 60_000;

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1400, height: 900 }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/setup.sh (apt-get install chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'wa-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, viewport, timeout: LAUNCH_TIMEOUT_MS,
    });
    return {
      context,
      close: async () => {
        await context.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}

/** A URL as is, anything else as a local file. */
export function toUrl(target: string): string {
  return /^[a-z]+:\/\//.test(target) ? target : pathToFileURL(resolve(target)).href;
}

async function screenshotCmd(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      width: { type: 'string', default: '1400' }, height: { type: 'string', default: '900' },
      'full-page': { type: 'boolean', default: false }, 'wait-for': { type: 'string' }, 'wait-ms': { type: 'string', default: '0' },
    },
  });
  if (positionals.length !== 2) throw new Error('usage: chromium.js screenshot <url | file.html> <out.png> [--width W] [--height H] [--full-page] [--wait-for css] [--wait-ms N]');
  const [target, out] = positionals as [string, string];
  const b = await launchChromium({ width: Number(values.width), height: Number(values.height) });
  try {
    const page = await b.context.newPage();
    await page.goto(toUrl(target), { waitUntil: 'load' });
    if (values['wait-for']) await page.waitForSelector(values['wait-for'], { timeout: 30_000 });
    if (Number(values['wait-ms']) > 0) await page.waitForTimeout(Number(values['wait-ms']));
    await page.screenshot({ path: out, fullPage: values['full-page'] });
    process.stdout.write(`${out}\n`);
  } finally {
    await b.close();
  }
}

if (require.main === module) {
  const [cmd, ...rest] = process.argv.slice(2);
  (cmd === 'screenshot' ? screenshotCmd(rest) : Promise.reject(new Error('usage: chromium.js screenshot <url | file.html> <out.png> [...]'))).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`chromium: ${err.message}\n`);
      process.exit(1);
    },
  );
}
