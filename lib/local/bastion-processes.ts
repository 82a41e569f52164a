// The processes of a local bastion: finding, inspecting and ending an sshd and every
// connection it serves. /proc where there is one (Linux); `ps` elsewhere.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

/** how long a SIGTERMed tree gets before SIGKILL, and again after it */
export const TERM_GRACE_MS = 1000;
const POLL_MS = 20;
const HAS_PROC = existsSync('/proc/self/stat');

export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

export const errnoCode = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException | undefined)?.code;

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** R, S, T (stopped), Z (zombie), … */
  state: string;
  start?: string;
}

export async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    if (HAS_PROC) {
      const text = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The command name sits in parentheses and may itself hold spaces and parentheses.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), start: fields[19] };
    }
    const { stdout } = await execFileAsync('ps', ['-o', 'ppid=,stat=', '-p', String(pid)]);
    const [ppid, state] = stdout.trim().split(/\s+/);
    if (!ppid || !state) return undefined;
    return { pid, ppid: Number(ppid), state: state.slice(0, 1) };
  } catch {
    return undefined;
  }
}

export async function allProcesses(): Promise<ProcessInfo[]> {
  if (HAS_PROC) {
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
    const infos = await Promise.all(pids.map(processInfo));
    return infos.filter((info): info is ProcessInfo => info !== undefined);
  }
  const { stdout } = await execFileAsync('ps', ['-A', '-o', 'pid=,ppid=,stat=']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts.length === 3)
    .map(([pid, ppid, state]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      state: (state ?? '?').slice(0, 1),
    }));
}

export async function commandLine(pid: number): Promise<string> {
  try {
    if (HAS_PROC) return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    const { stdout } = await execFileAsync('ps', ['-o', 'args=', '-p', String(pid)]);
    return stdout;
  } catch {
    return '';
  }
}

/** Alive means it can still do something: a zombie (nobody reaped it yet) is not alive. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if (errnoCode(error) !== 'EPERM') return false;
  }
  const info = await processInfo(pid);
  return info !== undefined && info.state !== 'Z';
}

/** Every process below `pid`: sshd forks one child per connection, and each calls setsid(). */
export async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const info of await allProcesses()) {
    const list = children.get(info.ppid) ?? [];
    list.push(info.pid);
    children.set(info.ppid, list);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of children.get(next) ?? []) {
      if (child !== pid && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

export type Signaller = (pid: number, name: NodeJS.Signals) => void;

export const processSignal: Signaller = (target, name) => {
  try {
    process.kill(target, name);
  } catch {
    // Already gone (what we want), or not ours: the callers check what is still alive.
  }
};

export async function noneAlive(pids: readonly number[]): Promise<boolean> {
  const alive = await Promise.all(pids.map(isAlive));
  return !alive.includes(true);
}

/**
 * Ends a session's sshd and every connection it serves. Killing the process group alone is not
 * enough: each connection's sshd calls setsid() and so leaves the group, and a live forward
 * would survive. So the listener is frozen first (it cannot fork while stopped), its tree is
 * collected, and the whole tree is signalled: SIGTERM, then SIGKILL after a short grace.
 */
export async function terminateTree(pid: number, signal: Signaller): Promise<boolean> {
  signal(pid, 'SIGSTOP');
  await waitUntil(async () => {
    const info = await processInfo(pid);
    return info === undefined || info.state === 'T' || info.state === 'Z';
  }, 500);
  const tree = await descendants(pid);
  for (const child of tree) signal(child, 'SIGTERM');
  signal(-pid, 'SIGTERM');
  signal(-pid, 'SIGCONT');
  const everyone = [pid, ...tree];
  if (await waitUntil(() => noneAlive(everyone), TERM_GRACE_MS)) return true;
  // A connection accepted between the freeze and SIGTERM cannot authenticate any more (the
  // key is removed before this runs) but is collected here all the same.
  const late = (await isAlive(pid)) ? await descendants(pid) : [];
  for (const straggler of [...everyone, ...late]) signal(straggler, 'SIGKILL');
  signal(-pid, 'SIGKILL');
  return waitUntil(() => noneAlive([...everyone, ...late]), TERM_GRACE_MS);
}
