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
// Python's own pty module gives the recorder the terminal sshd would.
const IN_A_TERMINAL = 'import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)';
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

/** The recorder as sudo would start it for `uid`, with `input` typed into its terminal. */
function recordAs(uid: number, input: string, name: string): Promise<Run> {
  const sink = join(dir, `${name}.jsonl`);
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ sessionId: SESSION, sink, shell: '/bin/sh' }), {
    mode: 0o600,
  });
  const child = spawn(
    'python3',
    ['-c', IN_A_TERMINAL, 'python3', '-I', RECORDER, '--config', config],
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
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, output, sink }));
  });
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

  it("never runs a recorded session as root's", async () => {
    const run = await recordAs(0, 'echo "shell-$((6 * 7))"\nexit\n', 'root');
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('never root');
    expect(run.output).not.toContain('shell-42');
  });
});
