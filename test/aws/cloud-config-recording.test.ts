// ec2 wiring of recorded sessions (issue 12): the bastion's user data for a recording: full target.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AGENT_CONFIG_PATH,
  type BastionUserDataInput,
  buildBastionUserData,
  RECORDER_SUDOERS_PATH,
  RECORDING_CONFIG_PATH,
  RECORDING_SINK_PATH,
  SSHD_CONFIG_PATH,
} from '../../lib/aws/cloud-config.ts';
import {
  authorizedKeyLine,
  RECORDER_COMMAND,
  RECORDER_PATH,
} from '../../lib/domain/authorized-key.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import { linuxUserFor } from '../../lib/domain/session.ts';
import { DEFAULT_BANNER } from '../../lib/domain/sshd-hardening.ts';

const HOST_KEY = issueHostKey();

const SESSION_ID = 's-0123456789abcdefghjk';
const USER = linuxUserFor(SESSION_ID);

function input(overrides: Partial<BastionUserDataInput> = {}): BastionUserDataInput {
  return {
    sessionId: SESSION_ID,
    linuxUser: USER,
    authorizedKey: authorizedKeyLine({
      publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
      targetHost: '10.0.1.20',
      targetPort: 22,
      sourceCidr: '203.0.113.7/32',
      expiresAt: Date.UTC(2026, 10, 24, 6, 49, 1),
      access: 'shell',
      sessionId: SESSION_ID,
      recorded: true,
    }),
    access: 'shell',
    targetHost: '10.0.1.20',
    targetPort: 22,
    selfDestructAt: Date.UTC(2026, 10, 24, 7, 54, 1),
    hostKey: HOST_KEY,
    logGroupName: '/drawbridge/dev/sessions',
    banner: DEFAULT_BANNER,
    recording: { recordInput: true, idleSeconds: 900 },
    ...overrides,
  };
}

interface WrittenFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
  defer?: boolean;
}
const render = (value: BastionUserDataInput) =>
  parse(buildBastionUserData(value)) as { write_files: WrittenFile[] };
const file = (value: BastionUserDataInput, path: string): WrittenFile | undefined =>
  render(value).write_files.find((entry) => entry.path === path);

function sshd(value: BastionUserDataInput): Map<string, string> {
  const first = new Map<string, string>();
  for (const line of file(value, SSHD_CONFIG_PATH)?.content.split('\n') ?? []) {
    if (line === '' || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(' ');
    // sshd keeps the first value it reads
    if (!first.has(key)) first.set(key, rest.join(' '));
  }
  return first;
}

describe('bastion user data for a recorded target', () => {
  it('writes /etc/drawbridge/recording.json: session id, sink, input recording, idle seconds', () => {
    const config = file(input(), RECORDING_CONFIG_PATH);
    // read by the recorder running as root; nothing in it is the session user's business
    expect(config).toMatchObject({ owner: 'root:root', permissions: '0600' });
    expect(JSON.parse(config?.content ?? '')).toEqual({
      sessionId: SESSION_ID,
      sink: RECORDING_SINK_PATH,
      recordInput: true,
      idleSeconds: 900,
    });
  });

  it("creates the sink and its head as root's alone: the session user cannot append to the chain", () => {
    for (const path of [RECORDING_SINK_PATH, `${RECORDING_SINK_PATH}.head`]) {
      const sink = file(input(), path);
      expect(sink).toMatchObject({ owner: 'root:root', permissions: '0600', content: '' });
      expect(sink?.defer).toBeUndefined();
    }
  });

  it("lets the session user, and no one else, start the recorder as root: no arguments, no pty of sudo's", () => {
    const sudoers = file(input(), RECORDER_SUDOERS_PATH);
    expect(sudoers).toMatchObject({ owner: 'root:root', permissions: '0440' });
    const rules = (sudoers?.content ?? '').split('\n').filter((line) => /^[^#]/.test(line));
    expect(rules).toEqual([
      `Defaults!${RECORDER_PATH} !use_pty, env_keep += "SSH_ORIGINAL_COMMAND SSH_CONNECTION SSH_CLIENT"`,
      `${USER} ALL=(root) NOPASSWD: ${RECORDER_PATH} ""`,
    ]);
    // sudo reads a file in sudoers.d only if its name has no dot (sudoers(5), #includedir)
    expect(RECORDER_SUDOERS_PATH).toMatch(/^\/etc\/sudoers\.d\/[^./]+$/);
  });

  it("writes a sudoers file sudo's own parser accepts (a broken one would stop sudo altogether)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-sudoers-'));
    try {
      const path = join(dir, 'drawbridge-recorder');
      writeFileSync(path, file(input(), RECORDER_SUDOERS_PATH)?.content ?? '', { mode: 0o440 });
      expect(execFileSync('visudo', ['-c', '-f', path], { encoding: 'utf8' })).toContain(
        'parsed OK',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forces the recorder and forwards nothing (first values, as sshd reads them)', () => {
    const settings = sshd(input());
    expect(settings.get('ForceCommand')).toBe(RECORDER_COMMAND);
    expect(settings.get('DisableForwarding')).toBe('yes');
    expect(settings.get('AllowTcpForwarding')).toBe('no');
    expect(settings.get('PermitOpen')).toBe('none');
  });

  it("has the CloudWatch agent ship the sink to the instance's stream beside the sshd log", () => {
    const agent = JSON.parse(file(input(), AGENT_CONFIG_PATH)?.content ?? '{}');
    expect(agent.logs.logs_collected.files.collect_list).toContainEqual({
      file_path: RECORDING_SINK_PATH,
      log_group_name: '/drawbridge/dev/sessions',
      log_stream_name: '{instance_id}',
    });
  });

  it('writes none of it for a target that is not recorded', () => {
    const plain = input({ recording: undefined });
    expect(file(plain, RECORDING_CONFIG_PATH)).toBeUndefined();
    expect(file(plain, RECORDING_SINK_PATH)).toBeUndefined();
    expect(file(plain, RECORDER_SUDOERS_PATH)).toBeUndefined();
    expect(sshd(plain).get('ForceCommand')).toBeUndefined();
    const agent = JSON.parse(file(plain, AGENT_CONFIG_PATH)?.content ?? '{}');
    expect(agent.logs.logs_collected.files.collect_list).toHaveLength(1);
  });

  it('refuses a recorded jump-only bastion: a recording is a shell, never a tunnel', () => {
    expect(() => buildBastionUserData(input({ access: 'jump-only' }))).toThrow('recording');
  });

  it('any idle value either lands in recording.json as given or is refused (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double()), (idleSeconds) => {
        const value = input({ recording: { recordInput: false, idleSeconds } });
        let config: WrittenFile | undefined;
        try {
          config = file(value, RECORDING_CONFIG_PATH);
        } catch (error) {
          expect(String(error)).toContain('unsafe recording');
          return;
        }
        expect(Number.isInteger(idleSeconds) && idleSeconds >= 1 && idleSeconds <= 86_400).toBe(
          true,
        );
        expect(JSON.parse(config?.content ?? '{}').idleSeconds).toBe(idleSeconds);
      }),
    );
  });
});
