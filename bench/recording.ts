// Recording figures with a real sshd and a real `ssh -tt` on the local bastion (the recorder
// local mode and the ec2 image both run): throughput of `cat` of a large file through a recorded
// and an unrecorded shell session, keystroke round trip with and without the recorder, and the
// recording's size per minute of a typical interactive session with its CloudWatch cost.
// Recorded and unrecorded runs alternate (cats round by round, keystrokes key by key), so load
// from elsewhere on the machine falls on both alike; the throughput ratio is reported per round.
// Usage: node bench/recording.ts [megabytes] [keystrokes] [rounds]
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '../lib/domain/session.ts';
import { FileRecordingStore } from '../lib/local/file-recording-store.ts';
import { findSshd, SshdProvider } from '../lib/local/sshd-provider.ts';
import type { LaunchPlan } from '../lib/ports/provider.ts';
import { tempDir } from '../test/support/local-mode.ts';
import { localLaunchPlan } from '../test/support/local-plan.ts';
import { clientArgs, makeClientKey, startEchoServer } from '../test/support/ssh.ts';
import { ms, percentile, printTable } from './stats.ts';

const megabytes = Number(process.argv[2] ?? 50);
const keystrokes = Number(process.argv[3] ?? 300);
const rounds = Number(process.argv[4] ?? 3);
/** CloudWatch Logs standard ingestion, us-east-1 (AWS pricing page, 2026): $0.50 per GB. */
const INGESTION_USD_PER_GB = 0.5;
/** CloudWatch bills each event's message plus 26 bytes. */
const EVENT_OVERHEAD_BYTES = 26;

const root = await tempDir('drawbridge-bench-rec-');
const client = await makeClientKey(root);
const target = await startEchoServer();
const dataDir = join(root, 'data');
const provider = new SshdProvider({
  dataDir,
  sshdPath: findSshd() ?? '/usr/sbin/sshd',
  // Both sessions run the same shell: the difference is the recorder alone.
  recordedShell: '/bin/sh',
});
const recordings = new FileRecordingStore(dataDir);

function plan(recorded: boolean, recordInput = false): LaunchPlan {
  return localLaunchPlan({
    name: 'shell',
    host: target.host,
    port: target.port,
    publicKey: client.publicKey,
    activeSessionsPerUser: 5,
    target: {
      access: 'shell',
      recording: recorded ? 'full' : 'off',
      ...(recorded ? { recordInput } : {}),
    },
  });
}

async function launch(recorded: boolean, recordInput = false) {
  const launchPlan = plan(recorded, recordInput);
  await provider.launch(launchPlan);
  const state = await provider.inspect(launchPlan.session);
  if (state.state !== 'running') throw new Error(`the bastion is ${state.state}`);
  return { session: launchPlan.session, connection: state.connection };
}

/** A real ssh -tt; counts bytes and keeps only the tail, so 50 MB never sits in a string. */
class Shell {
  readonly child: ChildProcessWithoutNullStreams;
  bytes = 0;
  tail = '';
  #waiters: (() => void)[] = [];
  constructor(connection: Connection) {
    this.child = spawn(
      'ssh',
      [
        ...clientArgs(client.privateKeyPath, connection.bastionPort),
        '-tt',
        // The unrecorded session runs the same /bin/sh as the recorder does.
        `${connection.linuxUser}@${connection.bastionHost}`,
      ],
      { stdio: 'pipe' },
    );
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
        this.tail = (this.tail + chunk.toString('latin1')).slice(-4096);
        for (const waiter of this.#waiters.splice(0)) waiter();
      });
    }
  }
  send(text: string): void {
    this.child.stdin.write(text);
  }
  until(check: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const test = (): void => {
        if (check()) resolve();
        else this.#waiters.push(test);
      };
      test();
    });
  }
  async close(): Promise<void> {
    this.child.kill();
    await new Promise((resolve) => this.child.once('close', resolve));
  }
}

async function shell(recorded: boolean, recordInput = false) {
  const { session, connection } = await launch(recorded, recordInput);
  const opened = new Shell(connection);
  // An unrecorded session starts the login shell: make it /bin/sh too, so only the recorder differs.
  if (!recorded) opened.send('exec /bin/sh\n');
  opened.send('PS1=READY$ ; echo mark-ready\n');
  await opened.until(() => opened.tail.includes('mark-ready\r\nREADY$'));
  return { session, shell: opened };
}

// ---------------------------------------------------------------- throughput
const file = join(root, 'big.txt');
await new Promise<void>((resolve, reject) => {
  const out = createWriteStream(file);
  out.on('error', reject);
  // Printable lines, as a terminal would show them (binary would be transcoded, not measured).
  for (let written = 0; written < megabytes * 1024 * 1024; written += 1024 * 1024) {
    const lines = randomBytes(768 * 1024)
      .toString('base64')
      .replace(/(.{100})/g, '$1\n');
    out.write(lines.slice(0, 1024 * 1024));
  }
  out.end(resolve);
});

/** bytes the recording grew by per byte of terminal output, during the recorded cats */
const overhead: number[] = [];
const sinkSize = (id: string) =>
  stat(recordings.sinkPath(id)).then(
    (info) => info.size,
    () => 0,
  );

/** Clock ticks per second of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** The recorder of the session's latest connection: its pid ends its chunks' connection id. */
async function recorderPid(sessionId: string): Promise<number | undefined> {
  const lines = (await readFile(recordings.sinkPath(sessionId), 'utf8')).trim().split('\n');
  return Number(/"conn":"\d+-(\d+)"/.exec(lines.at(-1) ?? '')?.[1]) || undefined;
}

/** A process's CPU seconds so far (user + system), or undefined once it is gone. */
async function cpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // fields after the command name (which may hold spaces): utime and stime are the 12th and 13th
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (!fields) return undefined;
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** the recorder's own CPU seconds per recorded cat, and MiB relayed per CPU second */
const recorderCpu: number[] = [];
const recorderRate: number[] = [];

/** Wall time of one cat, and the bench's own CPU while it ran (reading ssh's output). */
async function catSeconds(
  recorded: boolean,
): Promise<{ seconds: number; bytes: number; clientCpu: number }> {
  const { session, shell: opened } = await shell(recorded);
  const before = opened.bytes;
  const sinkBefore = await sinkSize(session.id);
  const recorder = recorded ? await recorderPid(session.id) : undefined;
  const recorderBefore = await cpuSeconds(recorder);
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  opened.send(`cat ${file}; echo cat-done\n`);
  await opened.until(() => opened.tail.includes('cat-done\r\nREADY$'));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const bytes = opened.bytes - before;
  const recorderAfter = await cpuSeconds(recorder);
  if (recorderBefore !== undefined && recorderAfter !== undefined) {
    recorderCpu.push(recorderAfter - recorderBefore);
    recorderRate.push(bytes / 1024 / 1024 / (recorderAfter - recorderBefore));
  }
  if (recorded) {
    // the last chunk is written up to a second after its output
    await new Promise((resolve) => setTimeout(resolve, 1100));
    overhead.push(((await sinkSize(session.id)) - sinkBefore) / bytes);
  }
  await opened.close();
  await provider.release(session);
  return { seconds, bytes, clientCpu: (cpu.user + cpu.system) / 1e6 };
}

const rates: Record<'unrecorded' | 'recorded', number[]> = { unrecorded: [], recorded: [] };
const clientCpu: Record<'unrecorded' | 'recorded', number[]> = { unrecorded: [], recorded: [] };
const ratios: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  // which goes first alternates, so neither always runs on a warmer (or busier) machine
  const order = round % 2 === 0 ? [false, true] : [true, false];
  const rate: Partial<Record<'unrecorded' | 'recorded', number>> = {};
  for (const recorded of order) {
    const label = recorded ? 'recorded' : 'unrecorded';
    const { seconds, bytes, clientCpu: cpu } = await catSeconds(recorded);
    rate[label] = bytes / seconds / 1024 / 1024;
    rates[label].push(rate[label]);
    clientCpu[label].push(cpu / seconds);
  }
  ratios.push((rate.recorded ?? 0) / (rate.unrecorded ?? 1));
}
const best = (values: number[]) => Math.max(...values);
const median = (values: number[]) => percentile(values, 50);
const each = (values: number[], digits = 1) =>
  values.map((value) => value.toFixed(digits)).join(' / ');
const throughput: Record<string, string | number>[] = (['unrecorded', 'recorded'] as const).map(
  (label) => ({
    session: label,
    [`MiB/s (best of ${rounds})`]: best(rates[label]).toFixed(1),
    median: median(rates[label]).toFixed(1),
    'each round': each(rates[label]),
    // near 1.0 would mean this process's reading, not ssh or the recorder, set the pace
    'bench CPU / wall': each(clientCpu[label], 2),
  }),
);
throughput.push({
  session: 'ratio recorded/unrecorded (target >= 0.8)',
  [`MiB/s (best of ${rounds})`]: (best(rates.recorded) / best(rates.unrecorded)).toFixed(2),
  median: median(ratios).toFixed(2),
  'each round': each(ratios, 2),
  'bench CPU / wall': '',
});
printTable(
  `cat of a ${megabytes} MB text file through ssh -tt (ratio: per round, recorded ÷ unrecorded of the same round; best: best ÷ best)`,
  throughput,
);
if (recorderCpu.length > 0) {
  // On a bastion the client is elsewhere: what bounds recorded output there is the recorder's
  // own CPU, not two cores shared by cat, sshd, the recorder, ssh and this process.
  process.stdout.write(
    `recorder CPU per ${megabytes} MB cat, relayed and recorded: median ${median(recorderCpu).toFixed(2)} s (${each(recorderCpu, 2)}); a core of its own keeps up with ${median(recorderRate).toFixed(0)} MiB/s of output\n`,
  );
}

// ---------------------------------------------------------------- keystroke round trip
async function keyRoundTrip(opened: Shell): Promise<number> {
  const before = opened.bytes;
  const started = process.hrtime.bigint();
  opened.send('x');
  await opened.until(() => opened.bytes > before);
  return Number(process.hrtime.bigint() - started) / 1e6;
}
/** Both sessions open at once, keys sent to each in turn: both see the same moments of load. */
async function roundTrips(): Promise<{ plain: number[]; recorded: number[] }> {
  const unrecorded = await shell(false);
  const recorded = await shell(true, true);
  const samples = { plain: [] as number[], recorded: [] as number[] };
  const pairs = [
    [samples.plain, unrecorded.shell],
    [samples.recorded, recorded.shell],
  ] as const;
  for (let index = 0; index < keystrokes; index += 1) {
    for (const [into, opened] of index % 2 === 0 ? pairs : [...pairs].reverse()) {
      into.push(await keyRoundTrip(opened));
      // a new line now and then, so the line never nears the terminal's limit
      if (index % 100 === 99) {
        // the terminal erases the line: let that output pass before the next key is timed
        const before = opened.bytes;
        opened.send('\u0015');
        await Promise.race([opened.until(() => opened.bytes > before), sleep(1000)]);
        await sleep(100);
      }
    }
  }
  for (const { session, shell: opened } of [unrecorded, recorded]) {
    await opened.close();
    await provider.release(session);
  }
  return samples;
}
const { plain, recorded: recordedSamples } = await roundTrips();
printTable(
  `keystroke round trip (${keystrokes} keys each, alternating, echo by the remote terminal)`,
  [
    { session: 'unrecorded', p50: ms(percentile(plain, 50)), p99: ms(percentile(plain, 99)) },
    {
      session: 'recorded (input recorded too)',
      p50: ms(percentile(recordedSamples, 50)),
      p99: ms(percentile(recordedSamples, 99)),
    },
    {
      session: 'added by recording',
      p50: ms(percentile(recordedSamples, 50) - percentile(plain, 50)),
      p99: ms(percentile(recordedSamples, 99) - percentile(plain, 99)),
    },
  ],
);

// ---------------------------------------------------------------- size per minute
// A typical interactive minute, compressed in time: typed commands (8 keys/s, input recorded)
// and their usual output (listings, a process table, a log tail, an editor-free session).
const script = [
  'ls -la /usr/bin | head -40',
  'ps aux | head -30',
  'df -h',
  'uname -a',
  'cat /etc/os-release',
  'ls -la /etc | head -40',
  'tail -n 30 /etc/services',
  'env | sort | head -20',
];
const { session: typed, shell: typing } = await shell(true, true);
const sink = recordings.sinkPath(typed.id);
const startedAt = Date.now();
const sizeBefore = (await stat(sink)).size;
for (const command of script) {
  for (const key of `${command}\n`) {
    typing.send(key);
    await sleep(125);
  }
  await typing.until(() => typing.tail.endsWith('READY$'));
}
await sleep(1200);
const elapsedMinutes = (Date.now() - startedAt) / 60_000;
const grown = (await stat(sink)).size - sizeBefore;
const chunks = (await recordings.lines(typed.id)).filter((line) => line.trim() !== '').length;
await typing.close();
await provider.release(typed);
const perMinute = grown / elapsedMinutes;
const eventsPerMinute = chunks / elapsedMinutes;
const ingestedPerHour = (perMinute + eventsPerMinute * EVENT_OVERHEAD_BYTES) * 60;
printTable('recording size of a typical interactive session (commands typed, input recorded)', [
  {
    'session (s)': (elapsedMinutes * 60).toFixed(0),
    'KiB per minute': (perMinute / 1024).toFixed(1),
    'chunks per minute': eventsPerMinute.toFixed(0),
    'MB ingested per hour': (ingestedPerHour / 1e6).toFixed(2),
    'USD per recorded hour': `$${((ingestedPerHour / 1e9) * INGESTION_USD_PER_GB).toFixed(5)}`,
    'USD per 1,000 recorded hours': `$${((ingestedPerHour / 1e9) * INGESTION_USD_PER_GB * 1000).toFixed(2)}`,
  },
]);
const catPerHour = best(rates.recorded) * 1024 * 1024 * 3600;
const factor = best(overhead);
console.log(
  `recording bytes per byte of terminal output (bulk text): ${factor.toFixed(2)}; worst case, a session printing nonstop at the recorded rate ships ${((catPerHour * factor) / 1e9).toFixed(0)} GB per hour ($${(((catPerHour * factor) / 1e9) * INGESTION_USD_PER_GB).toFixed(0)} of ingestion)\n`,
);

await target.close();
await rm(root, { recursive: true, force: true });
process.exit(0);
