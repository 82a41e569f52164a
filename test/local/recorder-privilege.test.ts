// On the ec2 bastion the session user starts the recorder through sudo: it runs as root, keeps
// the recording in root's files and runs the shell as the session user, so the shell it records
// can neither append to the chain nor stop it (issue 12; the review found the recorder running as
// the user, who owned the file and its unkeyed head). sudo is simulated the way it hands over:
// root's rights with SUDO_UID/SUDO_GID/SUDO_USER naming the user (the rule itself is checked by
// visudo in test/aws/cloud-config-recording.test.ts). `nobody` plays the session user.
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toText } from '../../lib/domain/asciicast.ts';
import {
  parseChunks,
  type RecordingChunk,
  verifyRecording,
} from '../../lib/domain/recording-chain.ts';

const RECORDER = fileURLToPath(new URL('../../bastion/drawbridge-record', import.meta.url));
// Python's own pty module gives the recorder a terminal, handed to the user as sshd hands a
// login's terminal over (the user's, 0620), before sudo runs the recorder.
const IN_A_TERMINAL = 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)';
const AS_SSHD_LEAVES_IT =
  'tty=$(readlink /proc/self/fd/0) && chown "$0" "$tty" && chmod 0620 "$tty" && exec "$@"';
/** The same, with a process of the user's that opened the terminal first and holds it. */
const WITH_A_LURKER = AS_SSHD_LEAVES_IT.replace(
  '&& exec',
  '&& { setpriv --reuid="$0" --regid="$0" --clear-groups sleep 5 <>"$tty" & sleep 0.2; } && exec',
);
const SESSION = 's-privilege0000000000';
const isRoot = process.getuid?.() === 0;

let dir: string;
let nobody: { uid: number; gid: number };

beforeAll(() => {
  // mkdtemp: 0700, root's, as /var/lib/drawbridge is on the bastion
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-rec-root-'));
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }));
  nobody = { uid: id('-u'), gid: id('-g') };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  output: string;
  sink: string;
}

/**
 * The recorder as sudo would start it for `uid`, with `input` typed into its terminal;
 * `meanwhile` runs once the recording has started, given the recorder's pid.
 */
function recordAs(
  uid: number,
  input: string,
  name: string,
  meanwhile?: (recorderPid: number) => void,
  terminal = AS_SSHD_LEAVES_IT,
): Promise<Run> {
  const sink = join(dir, `${name}.jsonl`);
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ sessionId: SESSION, sink, shell: '/bin/sh' }), {
    mode: 0o600,
  });
  const child = spawn(
    'python3',
    [
      '-c',
      IN_A_TERMINAL,
      ...['sh', '-c', terminal, String(nobody.uid)],
      ...['python3', '-I', RECORDER, '--config', config],
    ],
    {
      cwd: '/',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TERM: 'dumb',
        SUDO_UID: String(uid),
        SUDO_GID: String(nobody.gid),
        SUDO_USER: 'nobody',
        SUDO_COMMAND: RECORDER,
      },
      stdio: 'pipe',
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  child.stdin.end(input);
  if (meanwhile) void whenStarted(sink).then(meanwhile);
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, output, sink }));
  });
}

/** The recorder's pid, from its first chunk's connection id (`<ms>-<pid>`). */
async function whenStarted(sink: string): Promise<number> {
  for (;;) {
    const first = (await readFile(sink, 'utf8').catch(() => '')).split('\n')[0] ?? '';
    const pid = /"conn":"\d+-(\d+)"/.exec(first)?.[1];
    if (pid) return Number(pid);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function recorded(sink: string): Promise<RecordingChunk[]> {
  const chunks = parseChunks((await readFile(sink, 'utf8')).split('\n'));
  return chunks.filter((chunk): chunk is RecordingChunk => chunk !== undefined);
}

describe.skipIf(!isRoot)('the recorder started by sudo (root, for the session user)', () => {
  it('runs the shell as the session user, who can neither append to the chain nor stop the recorder', async () => {
    const commands = [
      'echo "uid-$(id -u) groups-$(id -G)"',
      'echo "sudo-vars-$(env | grep -c ^SUDO_)"',
      // $PPID: the recorder, the shell's parent
      `echo '{"forged":1}' >> ${join(dir, 'shell.jsonl')}; echo "appended-$?"`,
      `cat ${join(dir, 'shell.jsonl.head')} > /dev/null; echo "read-head-$?"`,
      'kill -9 $PPID; echo "kill-$?"',
      // the terminal sshd gave the user is the recorder's alone: no second shell on it
      'T=/dev/$(ps -o tty= -p $PPID | tr -d " "); ( : > "$T" ) 2>/dev/null; echo "opened-$?"',
      // the shell starts with every signal at its default (Python ignores SIGPIPE, SIGXFSZ)
      'grep SigIgn /proc/self/status',
      'echo "still-$((1 + 1))-recorded"',
      'exit',
      '',
    ].join('\n');
    const run = await recordAs(nobody.uid, commands, 'shell');
    expect(run.code).toBe(0);

    const chunks = await recorded(run.sink);
    const text = toText(chunks);
    expect(text).toContain(`uid-${nobody.uid} groups-${nobody.gid}`);
    expect(text).not.toMatch(/groups-[0-9 ]*\b0\b/);
    expect(text).toContain('sudo-vars-0');
    expect(text).toMatch(/appended-[1-9]/);
    expect(text).toMatch(/read-head-[1-9]/);
    expect(text).toMatch(/kill-[1-9]/);
    expect(text).toMatch(/opened-[1-9]/);
    expect(text).toMatch(/SigIgn:\s+0+\n/);
    expect(text).toContain('still-2-recorded');
    // only the recorder's chunks, in one unbroken chain, closed by the shell's exit
    expect(chunks.at(0)).toMatchObject({ kind: 'start', user: 'nobody' });
    expect(chunks.at(-1)).toMatchObject({ kind: 'end', reason: 'exit' });
    expect(verifyRecording(SESSION, chunks)).toMatchObject({ intact: true, complete: true });
    for (const path of [run.sink, `${run.sink}.head`]) {
      const info = statSync(path);
      expect(info.uid).toBe(0);
      expect(info.mode & 0o777).toBe(0o600);
    }
  });

  it('no signal sudo passes on ends it without its end chunk or loses output', async () => {
    const signals: (NodeJS.Signals | number)[] = [
      'SIGUSR1',
      'SIGUSR2',
      'SIGALRM',
      'SIGTSTP',
      34,
      64,
    ];
    let sent = 0;
    const run = await recordAs(
      nobody.uid,
      ['echo "before-$((1 + 2))"', 'sleep 2', 'echo "after-$((2 * 3))"', 'exit', ''].join('\n'),
      'signals',
      (pid) => {
        for (const signal of signals) {
          process.kill(pid, signal);
          sent += 1;
        }
      },
    );
    expect(sent).toBe(signals.length);
    expect(run.code).toBe(0);
    const chunks = await recorded(run.sink);
    const text = toText(chunks);
    expect(text).toContain('before-3');
    expect(text).toContain('after-6');
    expect(chunks.at(-1)).toMatchObject({ kind: 'end', reason: 'exit' });
    expect(verifyRecording(SESSION, chunks)).toMatchObject({ intact: true, complete: true });
  });

  it('refuses a recording the session user could write, or a link, before any shell runs', async () => {
    writeFileSync(join(dir, 'precious'), '', { mode: 0o600 });
    for (const [name, prepare] of [
      ['users', (path: string) => chownSync(path, nobody.uid, nobody.gid)],
      ['readable', (path: string) => execFileSync('chmod', ['0644', path])],
      // a link to a file of root's alone: root must not append to wherever it points
      [
        'link',
        (path: string) => {
          unlinkSync(path);
          symlinkSync(join(dir, 'precious'), path);
        },
      ],
    ] as const) {
      const sink = join(dir, `${name}.jsonl`);
      writeFileSync(sink, '', { mode: 0o600 });
      prepare(sink);
      const run = await recordAs(nobody.uid, 'echo "shell-$((6 * 7))"\nexit\n', name);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('access refused');
      expect(run.output).not.toContain('shell-42');
      expect(await readFile(sink, 'utf8')).toBe('');
    }
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('');
  });

  it('refuses a terminal another process of the user opened first (a second shell on it)', async () => {
    const run = await recordAs(
      nobody.uid,
      'echo "shell-$((6 * 7))"\nexit\n',
      'lurker',
      undefined,
      WITH_A_LURKER,
    );
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("the terminal is not the recorder's alone: access refused");
    expect(run.output).not.toContain('shell-42');
  });

  it("never runs a recorded session as root's", async () => {
    const run = await recordAs(0, 'echo "shell-$((6 * 7))"\nexit\n', 'root');
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('never root');
    expect(run.output).not.toContain('shell-42');
  });
});
