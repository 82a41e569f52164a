import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizedKeyLine } from '/work/main/lib/domain/authorized-key.ts';
import { validatePolicy, type Target } from '/work/main/lib/domain/policy.ts';
import { SshdProvider } from '/work/main/lib/local/sshd-provider.ts';
import { makeSession } from '/work/main/test/support/sessions.ts';
import { clientArgs, makeClientKey } from '/work/main/test/support/ssh.ts';
const root = await mkdtemp(join(tmpdir(), 'dbg-'));
const client = await makeClientKey(root);
const provider = new SshdProvider({ dataDir: root, onLog: (_s, l) => console.log(Date.now() % 100000, 'LOG', l) });
for (const access of ['jump-only', 'shell'] as const) {
  const policy = validatePolicy({ version: 1, adminGroup: 'a', quota: { activeSessionsPerUser: 2 }, targets: [{ name: 'e', mode: 'local', host: '127.0.0.1', port: 9, allowedGroups: ['e'], defaultDurationMinutes: 30, maxDurationMinutes: 60, access }] });
  const target = policy.targets[0] as Target;
  const session = makeSession({ publicKey: client.publicKey, sourceCidr: '127.0.0.1/32' });
  let t = Date.now();
  const r = await provider.launch({ session, target, policy, selfDestructAt: 0, selfDestructMinutes: 1, authorizedKey: authorizedKeyLine({ publicKey: client.publicKey, targetHost: '127.0.0.1', targetPort: 9, sourceCidr: '127.0.0.1/32', expiresAt: Date.now() + 600000, access, sessionId: session.id }) });
  console.log(access, 'launch', Date.now() - t); t = Date.now();
  const ssh = spawn('ssh', [...clientArgs(client.privateKeyPath, r.connection!.bastionPort), `root@127.0.0.1`, 'echo hi'], { stdio: ['ignore', 'pipe', 'pipe'] });
  ssh.stdout.on('data', (d) => console.log(Date.now() % 100000, 'OUT', String(d)));
  ssh.stderr.on('data', (d) => console.log('ERR', String(d)));
  const code = await new Promise((res) => ssh.once('close', res));
  console.log(access, 'ssh', code, Date.now() - t); t = Date.now();
  await provider.release(session);
  console.log(access, 'release', Date.now() - t);
}
