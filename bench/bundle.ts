// Bundle size and module init time of every function, as `osls package` builds them.
// Targets (DESIGN.md): each bundle under 500 KB minified; module init under 150 ms on 2 cores.
//
//   node bench/bundle.ts                 package into a temporary directory, then measure
//   node bench/bundle.ts --reuse <dir>   measure an existing package directory (e.g. .serverless)
//
// Init time is the time `await import(bundle)` takes in a fresh `node` process (median of 5),
// with dummy configuration so the module loads as it would on Lambda. The AWS SDK is external
// to the bundles (the nodejs24.x runtime provides it), so the import resolves it from this
// repository's node_modules, as Lambda resolves it from /var/runtime/node_modules.
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  listZip,
  packageService,
  REPO_ROOT,
  readZipEntry,
  type ZipEntry,
} from '../test/serverless/package-once.ts';
import { ms, percentile, printTable } from './stats.ts';

const SIZE_TARGET = 500 * 1024;
const INIT_TARGET_MS = 150;
const RUNS = 5;

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

const reuseIndex = process.argv.indexOf('--reuse');
const reuseDir = reuseIndex >= 0 ? process.argv[reuseIndex + 1] : undefined;

let artifacts: Record<string, string>;
let handlers: Record<string, string>;
if (reuseDir) {
  artifacts = Object.fromEntries(
    readdirSync(reuseDir)
      .filter((file) => file.endsWith('.zip'))
      .map((file) => [file.slice(0, -4), join(reuseDir, file)]),
  );
  const state = JSON.parse(readFileSync(join(reuseDir, 'serverless-state.json'), 'utf8')) as {
    service: { functions: Record<string, { handler: string }> };
  };
  handlers = Object.fromEntries(
    Object.entries(state.service.functions).map(([name, fn]) => [name, fn.handler]),
  );
} else {
  const started = performance.now();
  const packaged = await packageService({ stage: 'bench' });
  console.log(`osls package --stage bench: ${ms(performance.now() - started)} (${packaged.dir})`);
  artifacts = packaged.artifacts;
  handlers = Object.fromEntries(
    Object.entries(packaged.template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .map(([id, resource]) => [
        `${id[0]?.toLowerCase()}${id.slice(1, -'LambdaFunction'.length)}`,
        String(resource.Properties?.Handler),
      ]),
  );
}

const dummyEnv = (taskRoot: string, sourceMaps: boolean): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  LAMBDA_TASK_ROOT: taskRoot,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
  AWS_SECRET_ACCESS_KEY: 'benchmark',
  STAGE: 'bench',
  TABLE_NAME: 'drawbridge-bench',
  GROUPS_CLAIM: 'groups',
  POLICY_FILE: 'policy/drawbridge.policy.yaml',
  PROVISION_QUEUE_URL:
    'https://sqs.eu-west-1.amazonaws.com/000000000000/drawbridge-bench-provision',
  LAUNCH_TEMPLATE_ID: 'lt-00000000000000000',
  BASTION_LOG_GROUP: '/drawbridge/bench/sessions',
  SCHEDULE_GROUP: 'drawbridge-bench',
  EXPIRE_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:000000000000:function:drawbridge-bench-expire',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/drawbridge-bench-scheduler',
  SCHEDULER_DLQ_ARN: 'arn:aws:sqs:eu-west-1:000000000000:drawbridge-bench-expiry-dlq',
  POWERTOOLS_SERVICE_NAME: 'drawbridge',
  POWERTOOLS_METRICS_NAMESPACE: 'Drawbridge',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  NODE_OPTIONS: sourceMaps ? '--enable-source-maps' : '',
});

const importOnce = `
const started = performance.now();
const module = await import(process.argv[1]);
const elapsed = performance.now() - started;
if (typeof module.handler !== 'function') throw new Error('no handler export');
process.stdout.write(String(elapsed));
`;

function initTimes(bundle: string, taskRoot: string, sourceMaps: boolean): number[] {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const result = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', importOnce, pathToFileURL(bundle).href],
      { cwd: taskRoot, env: dummyEnv(taskRoot, sourceMaps), encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`importing ${bundle} failed:\n${result.stderr}`);
    times.push(Number(result.stdout));
  }
  return times;
}

const scratch = mkdtempSync(join(tmpdir(), 'drawbridge-bundles-'));
const rows: Record<string, string>[] = [];
try {
  for (const [name, zip] of Object.entries(artifacts).sort(([a], [b]) => a.localeCompare(b))) {
    const handler = handlers[name] ?? '';
    const bundleName = `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`;
    const entries = listZip(zip);
    const sizeOf = (entry: string) =>
      entries.find((candidate: ZipEntry) => candidate.name === entry)?.size ?? 0;
    const taskRoot = join(scratch, name);
    for (const entry of entries) {
      const target = join(taskRoot, entry.name);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readZipEntry(zip, entry.name));
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(taskRoot, 'node_modules'), 'dir');
    const bundle = join(taskRoot, bundleName);
    const withMaps = percentile(initTimes(bundle, taskRoot, true), 50);
    const withoutMaps = percentile(initTimes(bundle, taskRoot, false), 50);
    const size = sizeOf(bundleName);
    rows.push({
      function: name,
      zip: kib(statSync(zip).size),
      '.mjs': kib(size),
      '.mjs.map': kib(sizeOf(`${bundleName}.map`)),
      '≤ 500 KB': size <= SIZE_TARGET ? 'yes' : 'NO',
      'init (source maps on)': ms(withMaps),
      'init (off)': ms(withoutMaps),
      '≤ 150 ms': withMaps <= INIT_TARGET_MS ? 'yes' : 'NO',
    });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

printTable(
  `Function bundles (median of ${RUNS} fresh imports, Node ${process.version}, ${availableParallelism()} cores)`,
  rows,
);
