// Cold start per function, as a ratio to the SDK's own floor, measured in the same run so that
// machine noise cancels. Target (DESIGN.md): init ≤ 1.15 × a bare module importing only the
// SDK clients that function uses on its hot path (bench/hot-path.ts).
//
//   node bench/cold-start.ts [runs]
//
// Each function is bundled with serverless.yml's esbuild options; each import is timed in a
// fresh `node` process, function and baseline interleaved, median of `runs` (default 7). The
// SDK stays external, as on Lambda, and resolves from this repository's node_modules.
//
// Two figures per import: wall time, and the CPU time the process spent in it. On a quiet
// machine they agree; when other jobs share the cores, wall time measures the scheduler as much
// as the code (baselines varied 165–2000 ms between runs), while CPU time stays within a few
// per cent, so the target is judged on the CPU ratio and the wall ratio is printed beside it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleFunction, sdkImportsOf } from './bundle-graph.ts';
import { HOT_PATH } from './hot-path.ts';
import { ms, percentile, printTable } from './stats.ts';

const RUNS = Number(process.argv[2] ?? 7);
const TARGET = 1.15;
const ROOT = resolve(import.meta.dirname, '..');

const importOnce = `
const cpu = process.cpuUsage();
const started = performance.now();
const module = await import(process.argv[1]);
const wall = performance.now() - started;
const used = process.cpuUsage(cpu);
process.stdout.write(wall + ' ' + (used.user + used.system) / 1000);
if (process.argv[2] === 'handler' && typeof module.handler !== 'function') process.exit(3);
`;

interface Init {
  wall: number;
  cpu: number;
}

function initTime(file: string, expect: 'handler' | 'bare', cwd: string): Init {
  const result = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', importOnce, pathToFileURL(file).href, expect],
    // No configuration at all: a function builds its clients on its first invocation, so
    // importing it must not need any (and must not touch the network).
    { cwd, env: { PATH: process.env.PATH, POWERTOOLS_LOG_LEVEL: 'SILENT' }, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`importing ${file} failed:\n${result.stderr}`);
  const [wall, cpu] = result.stdout.split(' ').map(Number);
  return { wall: wall ?? Number.NaN, cpu: cpu ?? Number.NaN };
}

// Lambda's nodejs24.x runs Node 24; an older `node` on PATH (run `npm run bench`, which puts
// node_modules/.bin first) would measure another engine's module loader.
if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(
    `bench/cold-start.ts needs Node 24 (Lambda nodejs24.x), not ${process.version}: run it with npm run bench or npx node`,
  );
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'drawbridge-cold-start-'));
symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');
const rows: Record<string, string>[] = [];
let missed = 0;
/** functions with no SDK client at cold start: absolute figures only */
const unjudged: string[] = [];
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
  const bare: Init[] = [];
  const times = new Map(
    prepared.map(({ name }) => [name, { fn: [] as Init[], base: [] as Init[] }]),
  );
  for (let run = 0; run < RUNS; run += 1) {
    bare.push(initTime(empty, 'bare', scratch));
    for (const { name, bundle, baseline } of prepared) {
      const entry = times.get(name);
      entry?.base.push(initTime(baseline, 'bare', scratch));
      entry?.fn.push(initTime(bundle, 'handler', scratch));
    }
  }
  const median = (runs: Init[] | undefined, key: keyof Init) =>
    percentile(
      (runs ?? []).map((run) => run[key]),
      50,
    );
  rows.push({
    function: '(empty module)',
    'SDK at cold start': '—',
    'baseline CPU': ms(median(bare, 'cpu')),
    'function CPU': '—',
    'CPU ratio': '—',
    'baseline wall': ms(median(bare, 'wall')),
    'function wall': '—',
    'wall ratio': '—',
    [`≤ ${TARGET}`]: '',
  });
  // Functions with the same SDK clients share one baseline module (the same bytes), so their
  // baseline samples are pooled: a steadier denominator than each function's own few samples.
  const pooled = new Map<string, Init[]>();
  for (const { name, sdk } of prepared) {
    const key = sdk.join(' ');
    pooled.set(key, [...(pooled.get(key) ?? []), ...(times.get(name)?.base ?? [])]);
  }
  for (const { name, sdk, loaded } of prepared) {
    const entry = times.get(name);
    const shared = pooled.get(sdk.join(' '));
    const base = median(shared, 'cpu');
    const fn = median(entry?.fn, 'cpu');
    const ratio = fn / base;
    const extra = loaded.static.filter((pkg) => !sdk.includes(pkg));
    // A function that loads no SDK client has an empty module for a baseline: the ratio would
    // divide by node's own start-up, so only its absolute figures are shown (see the note).
    const judged = sdk.length > 0;
    if ((judged && ratio > TARGET) || extra.length > 0) missed += 1;
    else if (!judged) unjudged.push(name);
    rows.push({
      function: name,
      'SDK at cold start': sdk.map((pkg) => pkg.replace('@aws-sdk/', '')).join(' ') || '(none)',
      'baseline CPU': ms(base),
      'function CPU': ms(fn),
      'CPU ratio': judged ? ratio.toFixed(2) : 'n/a',
      'baseline wall': ms(median(shared, 'wall')),
      'function wall': ms(median(entry?.fn, 'wall')),
      'wall ratio': judged
        ? (median(entry?.fn, 'wall') / median(shared, 'wall')).toFixed(2)
        : 'n/a',
      [`≤ ${TARGET}`]: extra.length
        ? `NO: also loads ${extra.join(', ')}`
        : !judged
          ? 'n/a (note)'
          : ratio <= TARGET
            ? 'yes'
            : 'NO',
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

printTable(
  `Cold start: module init vs a bare module importing only the function's SDK clients (median of ${RUNS} fresh imports each, interleaved, baselines pooled across functions with the same SDK clients; target judged on CPU time; Node ${process.version}, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)})`,
  rows,
);
if (unjudged.length > 0) {
  console.log(
    `note: ${unjudged.join(', ')} load${unjudged.length === 1 ? 's' : ''} no SDK client, so the baseline is an empty module and a ratio would measure node's start-up rather than the function: its module init is the absolute "function CPU" figure above (the console serves static files; it should stay a few ms).`,
  );
}
console.log(
  missed === 0
    ? `every function with an SDK baseline within target${unjudged.length ? ` (${unjudged.join(', ')}: n/a)` : ''}`
    : `${missed} function(s) over target`,
);
