// Cold start per function, as a ratio to the SDK's own floor, measured in the same run so that
// machine noise cancels. Target (DESIGN.md): init ≤ 1.15 × a bare module importing only the
// SDK clients that function uses on its hot path (bench/hot-path.ts).
//
//   node bench/cold-start.ts [runs]
//
// Each function is bundled with serverless.yml's esbuild options; each import is timed in a
// fresh `node` process, function and baseline interleaved, median of `runs` (default 7). The
// SDK stays external, as on Lambda, and resolves from this repository's node_modules.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleFunction, sdkImportsOf } from './bundle-graph.ts';
import { HOT_PATH } from './hot-path.ts';
import { ms, percentile, printTable } from './stats.ts';

const RUNS = Number(process.argv[2] ?? 7);
const TARGET = 1.15;
const ROOT = resolve(import.meta.dirname, '..');

const importOnce = `
const started = performance.now();
const module = await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));
if (process.argv[2] === 'handler' && typeof module.handler !== 'function') process.exit(3);
`;

function initTime(file: string, expect: 'handler' | 'bare', cwd: string): number {
  const result = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', importOnce, pathToFileURL(file).href, expect],
    // No configuration at all: a function builds its clients on its first invocation, so
    // importing it must not need any (and must not touch the network).
    { cwd, env: { PATH: process.env.PATH, POWERTOOLS_LOG_LEVEL: 'SILENT' }, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`importing ${file} failed:\n${result.stderr}`);
  return Number(result.stdout);
}

const scratch = mkdtempSync(join(tmpdir(), 'drawbridge-cold-start-'));
symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
const rows: Record<string, string>[] = [];
let missed = 0;
try {
  const empty = join(scratch, 'empty.mjs');
  writeFileSync(empty, 'export {};\n');
  const prepared = await Promise.all(
    Object.entries(HOT_PATH).map(async ([name, { file, sdk }]) => {
      const bundle = join(scratch, `${name}.mjs`);
      const loaded = sdkImportsOf(await bundleFunction(join(ROOT, file), bundle));
      const baseline = join(scratch, `${name}.baseline.mjs`);
      writeFileSync(baseline, sdk.map((pkg) => `import '${pkg}';\n`).join(''));
      return { name, sdk, bundle, baseline, loaded };
    }),
  );
  const bare: number[] = [];
  const times = new Map(
    prepared.map(({ name }) => [name, { fn: [] as number[], base: [] as number[] }]),
  );
  for (let run = 0; run < RUNS; run += 1) {
    bare.push(initTime(empty, 'bare', scratch));
    for (const { name, bundle, baseline } of prepared) {
      const entry = times.get(name);
      entry?.base.push(initTime(baseline, 'bare', scratch));
      entry?.fn.push(initTime(bundle, 'handler', scratch));
    }
  }
  rows.push({
    function: '(empty module)',
    'SDK at cold start': '—',
    'baseline: SDK only': ms(percentile(bare, 50)),
    'function init': '—',
    ratio: '—',
    [`≤ ${TARGET}`]: '',
  });
  for (const { name, sdk, loaded } of prepared) {
    const entry = times.get(name);
    const base = percentile(entry?.base ?? [], 50);
    const fn = percentile(entry?.fn ?? [], 50);
    const ratio = fn / base;
    const extra = loaded.static.filter((pkg) => !sdk.includes(pkg));
    if (ratio > TARGET || extra.length > 0) missed += 1;
    rows.push({
      function: name,
      'SDK at cold start': sdk.map((pkg) => pkg.replace('@aws-sdk/', '')).join(' '),
      'baseline: SDK only': ms(base),
      'function init': ms(fn),
      ratio: ratio.toFixed(2),
      [`≤ ${TARGET}`]: extra.length
        ? `NO: also loads ${extra.join(', ')}`
        : ratio <= TARGET
          ? 'yes'
          : 'NO',
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

printTable(
  `Cold start: module init vs a bare module importing only the function's SDK clients (median of ${RUNS} fresh imports each, interleaved; Node ${process.version}, ${availableParallelism()} cores)`,
  rows,
);
console.log(missed === 0 ? 'every function within target' : `${missed} function(s) over target`);
