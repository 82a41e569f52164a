// npm start: the whole Drawbridge orchestrator on this machine (local mode).
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shellLine } from '../lib/domain/shell-quote.ts';
import { consoleLog, logFormat } from '../lib/local/console-log.ts';
import { startDemoTarget } from '../lib/local/demo-target.ts';
import { type LocalOrchestrator, startLocalOrchestrator } from '../lib/local/local-orchestrator.ts';
import { findSshd } from '../lib/local/sshd-provider.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const dataDir = resolve(process.env.DRAWBRIDGE_DATA_DIR ?? '.drawbridge');
const policyFile = resolve(process.env.DRAWBRIDGE_POLICY ?? 'policy/local.policy.yaml');
const portText = process.env.DRAWBRIDGE_PORT ?? '8787';
const apiPort = Number(portText);
// Tests only: runs the orchestrator's clock ahead, so a window can run out without waiting.
const clockOffsetMs = Number(process.env.DRAWBRIDGE_CLOCK_OFFSET_MS ?? 0) || 0;

function fail(message: string): never {
  console.error(`drawbridge: ${message}`);
  process.exit(1);
}

if (!/^\d{1,5}$/.test(portText) || apiPort > 65535) {
  fail(`DRAWBRIDGE_PORT '${portText.slice(0, 20)}' is not a port number (1-65535, or 0 for any)`);
}
if (!findSshd()) {
  fail(
    'local mode needs the OpenSSH server (sshd) — install it with `sudo apt-get install openssh-server` (Debian/Ubuntu) or `brew install openssh` (macOS), then run `npm start` again.',
  );
}

const format = logFormat(process.env.DRAWBRIDGE_LOG_FORMAT, process.stdout.isTTY === true);
const { logger, audit } = consoleLog(format, (line) => console.log(line));

let orchestrator: LocalOrchestrator;
try {
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile,
    apiPort,
    logger,
    onAudit: audit,
    ...(clockOffsetMs ? { clock: { now: () => Date.now() + clockOffsetMs } } : {}),
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    fail(
      `port ${apiPort} is taken (another npm start?): set DRAWBRIDGE_PORT to a free port, e.g. DRAWBRIDGE_PORT=${apiPort === 65535 ? 8788 : apiPort + 1} npm start`,
    );
  }
  fail(error instanceof Error ? error.message : String(error));
}

// One demo service per address (two targets may share one); a taken port is said, not hidden.
const demoAddresses = [
  ...new Set(
    orchestrator.policy.targets
      .filter(
        (target) =>
          target.mode === 'local' && (target.host === '127.0.0.1' || target.host === 'localhost'),
      )
      .map((target) => `${target.host}:${target.port}`),
  ),
];
const demos: { address: string; server?: Server; problem?: string }[] = await Promise.all(
  demoAddresses.map(async (address) => {
    const at = address.lastIndexOf(':');
    try {
      return {
        address,
        server: await startDemoTarget(address.slice(0, at), Number(address.slice(at + 1))),
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        address,
        problem:
          code === 'EADDRINUSE'
            ? 'its port is taken by another program, which sessions to it will reach instead; free the port or change it in the policy'
            : (error as Error).message,
      };
    }
  }),
);
writeFileSync(
  join(dataDir, 'local.json'),
  `${JSON.stringify({ url: orchestrator.url }, null, 2)}\n`,
  { mode: 0o600 },
);

// The CLI finds this instance through its data directory: a non-default one must be named, or
// the login below would sign in to the default instance.
const dataDirFlag = dataDir === resolve(REPO_ROOT, '.drawbridge') ? [] : ['--data-dir', dataDir];
const command = (...args: string[]): string => shellLine(['npx', 'drawbridge', ...args]);
const demoLines = demos.map((demo) =>
  demo.server
    ? `  demo:       ${demo.address} (greets and echoes)`
    : `  demo:       ${demo.address} NOT STARTED: ${demo.problem}`,
);

console.log(`
Drawbridge local mode is up.
  API:        ${orchestrator.url}
  data:       ${dataDir}
  policy:     ${policyFile}
${demoLines.join('\n')}

Try it (in another terminal):
  ${command('login', '--local', '--user', 'alice', '--groups', 'dev', ...dataDirFlag)}
  ${command('targets')}
  ${command('open', 'demo', '--for', '5m', '--reason', 'trying drawbridge', '--connect', '--stdio')}
  (type a line: the demo answers through your bastion; Ctrl-D leaves and ends the session)
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Live sessions keep their sshd and their window: a restart re-adopts them.
  for (const demo of demos) demo.server?.close();
  await orchestrator.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
