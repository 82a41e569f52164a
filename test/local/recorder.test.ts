import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { toAsciicast, toText } from '../../lib/domain/asciicast.ts';
import {
  parseChunks,
  type RecordingChunk,
  verifyRecording,
} from '../../lib/domain/recording-chain.ts';
import type { Connection, Session } from '../../lib/domain/session.ts';
import { FileRecordingStore } from '../../lib/local/file-recording-store.ts';
import { freePort } from '../../lib/local/free-port.ts';
import { findSshd, SshdProvider } from '../../lib/local/sshd-provider.ts';
import type { LaunchPlan } from '../../lib/ports/provider.ts';
import { localLaunchPlan } from '../support/local-plan.ts';
import { type ClientKey, type EchoServer, makeClientKey, startEchoServer } from '../support/ssh.ts';
import { openTerminal, type Terminal } from '../support/terminal.ts';

const sshdPath = findSshd() ?? '/usr/sbin/sshd';
vi.setConfig({ testTimeout: 60_000 });
let root: string;
let client: ClientKey;
let target: EchoServer;
let dataDir: string;
let provider: SshdProvider;
const launched: Session[] = [];
const terminals: Terminal[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'drawbridge-rec-'));
  client = await makeClientKey(root);
  target = await startEchoServer();
  dataDir = join(root, 'data');
  // One policy minute of idle timeout lasts two seconds here, so the idle test does not wait.
  provider = new SshdProvider({
    dataDir,
    sshdPath,
    idleSecondsPerMinute: 2,
    // The machine's login shell may take seconds to read its profile; the recorder is the same.
    recordedShell: '/bin/sh',
  });
});

afterEach(async () => {
  for (const terminal of terminals.splice(0)) await terminal.close();
  for (const session of launched.splice(0)) await provider.release(session);
});

afterAll(async () => {
  await target.close();
  await rm(root, { recursive: true, force: true });
});

function planFor(extra: Record<string, unknown> = {}): LaunchPlan {
  return localLaunchPlan({
    name: 'rec',
    host: target.host,
    port: target.port,
    publicKey: client.publicKey,
    target: { access: 'shell', recording: 'full', ...extra },
  });
}

async function launch(extra: Record<string, unknown> = {}) {
  const plan = planFor(extra);
  await provider.launch(plan);
  launched.push(plan.session);
  const state = await provider.inspect(plan.session);
  if (state.state !== 'running') throw new Error(`the bastion is ${state.state}`);
  return { session: plan.session, connection: state.connection };
}

function terminal(connection: Connection, extra?: string[], command?: string[]): Terminal {
  const opened = openTerminal(
    {
      host: connection.bastionHost,
      port: connection.bastionPort,
      user: connection.linuxUser,
      privateKeyPath: client.privateKeyPath,
    },
    extra,
    command,
  );
  terminals.push(opened);
  return opened;
}

/** Once `ssh -L` listens, sends a line through it: what comes back within half a second. */
async function throughForward(port: number): Promise<string> {
  for (;;) {
    const result = await new Promise<string | undefined>((resolve) => {
      let received = '';
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.on('error', () => resolve(undefined));
      socket.on('data', (data) => {
        received += data.toString();
      });
      socket.on('connect', () => {
        socket.write('ping\n');
        setTimeout(() => {
          socket.destroy();
          resolve(received);
        }, 500);
      });
    });
    if (result !== undefined) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `sleep 987N` processes the detachment test leaves, by their command line. */
function sleepers(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const [command, duration, ...rest] = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split(
          String.fromCharCode(0),
        );
        return command === 'sleep' && /^987[123]$/.test(duration ?? '') && rest.join('') === '';
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

const store = () => new FileRecordingStore(dataDir);
async function chunksOf(sessionId: string): Promise<RecordingChunk[]> {
  return parseChunks(await store().lines(sessionId)).filter(
    (chunk): chunk is RecordingChunk => chunk !== undefined,
  );
}

describe('the recorder behind a real sshd and a real ssh -tt', () => {
  it('records the commands’ output in order, with wall-clock timestamps, and a sealed chain', async () => {
    const { session, connection } = await launch();
    const shell = terminal(connection);
    const before = Date.now();
    shell.send('echo first-$((40+2))\r');
    await shell.waitFor(/first-42/);
    const firstSeen = Date.now();
    shell.send('echo second-$((50+5))\r');
    await shell.waitFor(/second-55/);
    shell.send('exit\r');
    await shell.exited;
    await provider.release(session);
    launched.splice(0);

    const chunks = await chunksOf(session.id);
    const head = await store().sealedHead(session.id);
    expect(head?.seq).toBe(chunks.length);
    expect(verifyRecording(session.id, chunks, head)).toMatchObject({
      intact: true,
      complete: true,
    });
    const text = toText(chunks);
    expect(text.indexOf('first-42')).toBeGreaterThan(-1);
    expect(text.indexOf('second-55')).toBeGreaterThan(text.indexOf('first-42'));
    const stamped = text.split('\n').find((line) => line.endsWith('first-42'));
    const at = Date.parse(stamped?.split(' ')[0] ?? '');
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(firstSeen + 1000);
    const cast = toAsciicast(session.id, chunks).split('\n');
    expect(JSON.parse(cast[0] ?? '{}')).toMatchObject({ version: 2 });
  });

  it('records bulk output whole and in order, in chunks of at most 16 KB, the chain intact', async () => {
    const { session, connection } = await launch();
    const shell = terminal(connection);
    // Non-ASCII text and DEL take the recorder's other JSON escaper; the verifier recomputes
    // every hash with JavaScript's canonical JSON, so both must write the same text.
    shell.send(
      'awk \'BEGIN { for (i = 1; i <= 20000; i++) printf "line %d é\\177✓\\n", i }\'; echo bulk-$((20+2))\r',
    );
    await shell.waitFor(/bulk-22/);
    shell.send('exit\r');
    await shell.exited;
    await provider.release(session);
    launched.splice(0);

    const lines = (await store().lines(session.id)).filter((line) => line !== '');
    // CloudWatch takes events of up to 256 KB: a chunk stays far below it.
    expect(Math.max(...lines.map((line) => Buffer.byteLength(line)))).toBeLessThan(128 * 1024);
    const chunks = await chunksOf(session.id);
    expect(verifyRecording(session.id, chunks, await store().sealedHead(session.id))).toMatchObject(
      { intact: true, complete: true },
    );
    const data = chunks.flatMap((chunk) => (chunk.kind === 'data' ? [chunk] : []));
    for (const chunk of data) {
      const text = chunk.events.reduce((size, [, , piece]) => size + piece.length, 0);
      expect(text).toBeLessThanOrEqual(16384);
      const times = chunk.events.map(([at]) => at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    const output = data
      .flatMap((chunk) => chunk.events)
      .filter(([, code]) => code === 'o')
      .map(([, , piece]) => piece)
      .join('');
    // (the first line follows the shell's prompt, which the command was typed ahead of)
    const printed = output.match(/line \d+ [^\r\n]*\r\n/g)?.map((line) => line.slice(0, -2));
    expect(printed).toEqual(Array.from({ length: 20000 }, (_, i) => `line ${i + 1} é\u007f✓`));
  });

  it('a large paste into a terminal busy printing neither deadlocks nor is lost', async () => {
    const { connection } = await launch();
    const shell = terminal(connection);
    // The terminal is printing and nobody reads its input until the output is done: the
    // paste outgrows the pty's input buffer while its output still has to be relayed.
    shell.send('stty -icanon -echo; seq 1 200000; head -c 300000 | wc -c | sed s/^/got-/\r');
    await shell.waitFor(/\r\n2\r\n3\r\n/);
    shell.send('x'.repeat(300000));
    await shell.waitFor(/got-\s*300000/);
  });

  it.each([
    ['ssh host cmd', ['-tt'], ['id']],
    ['sftp (a subsystem)', ['-T', '-s'], ['sftp']],
    ['a session without a terminal', ['-T'], []],
  ])('refuses %s, and records nothing for it', async (_label, extra, command) => {
    const { session, connection } = await launch();
    const attempt = terminal(connection, extra, command);
    attempt.child.stdin.end();
    expect(await attempt.exited).not.toBe(0);
    // sshd itself refuses a subsystem (this bastion has none); the recorder refuses the rest.
    expect(attempt.output()).toMatch(/this session is recorded|subsystem request failed/);
    expect(await chunksOf(session.id)).toEqual([]);
  });

  it('refuses -W and -N -L: no forward of any kind', async () => {
    const { connection } = await launch();
    const jump = terminal(connection, ['-W', `${target.host}:${target.port}`]);
    jump.child.stdin.end('ping\n');
    expect(await jump.exited).not.toBe(0);
    expect(jump.output()).toMatch(/administratively prohibited|open failed|forwarding failed/);
    const localPort = await freePort('127.0.0.1');
    const forward = terminal(connection, [
      '-N',
      '-L',
      `127.0.0.1:${localPort}:${target.host}:${target.port}`,
    ]);
    // sshd refuses the channel when a connection uses the forward: the echo never comes back.
    expect(await throughForward(localPort)).toBe('');
    await forward.close();
    expect(target.openConnections()).toBe(0);
  });

  it('ends with its shell, and nothing the connection started outlives it, detached (setsid, nohup) or not', async () => {
    const { session, connection } = await launch();
    const shell = terminal(connection);
    // unique durations name the processes; each is left running, detached in its own way
    shell.send(
      'nohup sleep 9871 >/dev/null 2>&1 & setsid sleep 9872 & sleep 9873 & echo "left-$((2*3))"\r',
    );
    await shell.waitFor(/left-6/);
    await until(() => sleepers().length === 3);
    // the jobs still hold the shell's terminal: the connection ends with the shell all the same
    shell.send('exit\r');
    await shell.exited;
    // the recorder ends them before it exits, and ssh ends after the recorder
    const left = sleepers();
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
    expect((await chunksOf(session.id)).at(-1)).toMatchObject({ kind: 'end', reason: 'exit' });
  });

  it('killing the recorder closes the connection', async () => {
    const { session, connection } = await launch();
    const shell = terminal(connection);
    shell.send('echo pid-$PPID-end\r');
    const seen = await shell.waitFor(/pid-\d+-end/);
    const recorderPid = Number(/pid-(\d+)-end/.exec(seen)?.[1]);
    process.kill(recorderPid, 'SIGKILL');
    expect(await shell.exited).not.toBeNull();
    expect(await chunksOf(session.id)).not.toEqual([]);
  });

  it('with input recording on, a secret typed while echo is off is absent; the commands are there', async () => {
    const { session, connection } = await launch({ recordInput: true });
    const shell = terminal(connection);
    shell.send('bash --norc --noprofile\r');
    shell.send('echo visible-$((6*7))\r');
    await shell.waitFor(/visible-42/);
    // The prompt is spelled apart in the command line so that only bash's output matches it.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, for the remote shell
    shell.send('read -s -p "sec""ret? " SECRET; echo "got-""${#SECRET}"\r');
    await shell.waitFor(/secret\? /);
    shell.send('hunter2-topsecret\r');
    await shell.waitFor(/got-17/);
    await shell.close();
    await provider.release(session);
    launched.splice(0);
    const chunks = await chunksOf(session.id);
    const all = JSON.stringify(chunks);
    expect(all).not.toContain('hunter2');
    const typed = chunks.flatMap((chunk) =>
      chunk.kind === 'data'
        ? chunk.events.filter(([, code]) => code === 'i').map(([, , d]) => d)
        : [],
    );
    expect(typed.join('')).toContain('echo visible-$((6*7))');
    // where keys went unrecorded, a marker says so (not how many: a password's length is kept too)
    const markers = chunks.flatMap((chunk) =>
      chunk.kind === 'data'
        ? chunk.events.filter(([, code]) => code === 'm').map(([, , d]) => d)
        : [],
    );
    expect(markers).toEqual(["input not recorded: typed while the terminal's echo was off"]);
  });

  it('closes an idle connection and says so, in the terminal and the recording', async () => {
    const { session, connection } = await launch({ idleTimeoutMinutes: 1 });
    const shell = terminal(connection);
    shell.send('echo awake\r');
    await shell.waitFor(/no activity for 2 seconds: connection closed/);
    await shell.exited;
    const chunks = await chunksOf(session.id);
    expect(chunks.at(-1)).toMatchObject({ kind: 'end', reason: 'idle' });
    expect(toText(chunks)).toContain('[drawbridge] no activity');
  });
});
