// The console's weight and speed: JavaScript and CSS per page (raw and gzipped), and time to
// first render and to interactive in headless Chromium against a running local mode.
//
//   node bench/console.ts [runs]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startLocalOrchestrator } from '../lib/local/local-orchestrator.ts';
import { silentLogger } from '../lib/ports/logger.ts';
import { buildConsole, launchChromium } from '../test/support/browser.ts';
import { tempDir, writeLocalPolicy } from '../test/support/local-mode.ts';
import { percentile } from './stats.ts';

const runs = Number(process.argv[2] ?? 10);
buildConsole();
const dir = 'dist/console';
const html = await readFile(join(dir, 'index.html'), 'utf8');
const named = (pattern: RegExp) => html.match(pattern)?.[1] ?? '';
const app = named(/src="\/assets\/(app-[^"]+\.js)"/);
const css = named(/href="\/assets\/(styles-[^"]+\.css)"/);
const { readdir } = await import('node:fs/promises');
const chunks = (await readdir(join(dir, 'assets'))).filter((file) => file.startsWith('chunk-'));

const size = async (files: string[]) => {
  const bodies = await Promise.all(files.map((file) => readFile(join(dir, 'assets', file))));
  const raw = bodies.reduce((sum, body) => sum + body.length, 0);
  const gzip = bodies.reduce((sum, body) => sum + gzipSync(body, { level: 9 }).length, 0);
  return `${(raw / 1024).toFixed(1)} KB raw, ${(gzip / 1024).toFixed(1)} KB gzip`;
};
console.log('\nConsole bundle sizes');
console.log(`  first page (every page) JS   ${await size([app])}`);
console.log(`  first page CSS               ${await size([css])}`);
console.log(`  session detail adds (player) ${await size(chunks)}`);

const dataDir = await tempDir('bench-console');
const orchestrator = await startLocalOrchestrator({
  dataDir,
  policyFile: await writeLocalPolicy(dataDir, 9),
  logger: silentLogger,
});
const browser = await launchChromium();
const firstRender: number[] = [];
const interactive: number[] = [];
try {
  for (let run = 0; run < runs; run += 1) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // The console's first document paints, then tries a silent sign-in at the provider (a
    // navigation there and back) before it draws the sign-in button. The first document's
    // first contentful paint is kept in the tab's sessionStorage, which outlives that trip.
    // (Runs in the page: the browser's PerformanceObserver, typed here as Node's, takes 'paint'.)
    await page.addInitScript(() => {
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries())
          if (entry.name === 'first-contentful-paint' && !sessionStorage.getItem('bench-fcp'))
            sessionStorage.setItem('bench-fcp', String(entry.startTime));
      }).observe({ type: 'paint' as 'mark', buffered: true });
    });
    const started = performance.now();
    await page.goto(`${orchestrator.url}/`);
    // Interactive: the sign-in button (local mode advertises its OpenID Provider), drawn once
    // the API has said how to sign in and the silent attempt has come back, can be pressed.
    const signIn = page.getByRole('button', { name: 'Sign in' });
    await signIn.waitFor();
    if (!(await signIn.isEnabled())) throw new Error('the sign-in button is drawn but disabled');
    const paint = Number(await page.evaluate(() => sessionStorage.getItem('bench-fcp')));
    firstRender.push(paint > 0 ? paint : performance.now() - started);
    interactive.push(performance.now() - started);
    await context.close();
  }
} finally {
  await browser.close();
  await orchestrator.stop();
}
const ms = (values: number[], p: number) => `${percentile(values, p).toFixed(0)} ms`;
console.log(`\nConsole in headless Chromium against local mode (${runs} cold page loads)`);
console.log(`  first render   p50 ${ms(firstRender, 50)}  p99 ${ms(firstRender, 99)}`);
console.log(`  interactive    p50 ${ms(interactive, 50)}  p99 ${ms(interactive, 99)}`);
