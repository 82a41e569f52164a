// npm start: the whole Drawbridge orchestrator on this machine (local mode).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startDemoTarget } from '../lib/local/demo-target.ts';
import { startLocalOrchestrator } from '../lib/local/local-orchestrator.ts';
import { findSshd } from '../lib/local/sshd-provider.ts';

const dataDir = resolve(process.env.DRAWBRIDGE_DATA_DIR ?? '.drawbridge');
const policyFile = resolve(process.env.DRAWBRIDGE_POLICY ?? 'policy/local.policy.yaml');
const usersFile = resolve(process.env.DRAWBRIDGE_USERS ?? 'policy/local-users.yaml');
const apiPort = Number(process.env.DRAWBRIDGE_PORT ?? 8787);
// Tests only: runs the orchestrator's clock ahead, so a window can run out without waiting.
const clockOffsetMs = Number(process.env.DRAWBRIDGE_CLOCK_OFFSET_MS ?? 0) || 0;

if (!findSshd()) {
  console.error(
    'drawbridge: local mode needs the OpenSSH server (sshd) — install it with `sudo apt-get install openssh-server` (Debian/Ubuntu) or `brew install openssh` (macOS), then run `npm start` again.',
  );
  process.exit(1);
}

const line =
  (level: string) =>
  (message: string, ...attributes: Record<string, unknown>[]) =>
    console.log(
      JSON.stringify(
        { level, time: new Date().toISOString(), message, ...Object.assign({}, ...attributes) },
        errorReplacer,
      ),
    );
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
const logger = { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };

const orchestrator = await startLocalOrchestrator({
  dataDir,
  policyFile,
  usersFile,
  apiPort,
  logger,
  onAudit: (entry) => console.log(entry),
  ...(clockOffsetMs ? { clock: { now: () => Date.now() + clockOffsetMs } } : {}),
});
const demos = await Promise.all(
  orchestrator.policy.targets
    .filter(
      (target) =>
        target.mode === 'local' && (target.host === '127.0.0.1' || target.host === 'localhost'),
    )
    .map((target) => startDemoTarget(target.host, target.port).catch(() => undefined)),
);
writeFileSync(
  join(dataDir, 'local.json'),
  `${JSON.stringify({ url: orchestrator.url, issuer: orchestrator.oidc.issuer, usersFile }, null, 2)}\n`,
  { mode: 0o600 },
);

console.log(`
Drawbridge local mode is up.
  API:        ${orchestrator.url}
  data:       ${dataDir}
  policy:     ${policyFile}
  sign-in:    ${orchestrator.oidc.issuer} (OpenID Provider; demo users in ${usersFile})

Try it (in another terminal):
  npx drawbridge login --local --user alice        (or: npx drawbridge login, in a browser)
  npx drawbridge open demo --for 5m --reason "trying drawbridge" --connect
`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // Live sessions keep their sshd and their window: a restart re-adopts them.
  for (const demo of demos) demo?.close();
  await orchestrator.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
