// npm run bench: every figure the README reports, printed as tables.
import { spawnSync } from 'node:child_process';

const node = process.execPath;
const steps: [string, string[]][] = [
  ['bench/request-latency.ts', ['500']],
  ['bench/grant.ts', ['ssm', '300']],
  ['bench/grant.ts', ['eice', '300']],
  ['bench/time-to-ready.ts', ['300']],
  ['bench/bundle.ts', []],
  ['bench/cold-start.ts', ['11']],
  ['bench/local-mode.ts', ['50', '10']],
  ['bench/usage.ts', ['100000', '10000', '100']],
  ['bench/console.ts', ['10']],
  ['bench/recording.ts', ['50', '300']],
];
let failed = false;
for (const [script, args] of steps) {
  const result = spawnSync(node, [script, ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${[script, ...args].join(' ')} failed with exit code ${result.status}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
