import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium: playwright's own browser downloads do not work here. */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = 'test-output/console';

/** A fresh headless Chromium, or a failure that says how to install one (never a skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `console tests need Chromium at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\``,
    );
  // launch() gives the browser a fresh temporary profile of its own (it refuses
  // --user-data-dir, which is launchPersistentContext's): nothing carries over between runs.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
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

/** Builds dist/console from the sources, as `npm ci` (prepare) does. */
export function buildConsole(): void {
  execFileSync(process.execPath, ['scripts/build-console.ts'], { stdio: 'pipe' });
}

const axeSource = (): string =>
  (createRequire(import.meta.url)('axe-core') as { source: string }).source;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown }[];
}

/** axe-core in the page (through the debugger, so the page's CSP stays on): serious or worse. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource());
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } })
      .axe;
    return (await axe.run()).violations;
  });
  return (violations as AxeViolation[]).filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
