import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSessionId } from '../../lib/domain/session.ts';
import { buildSshdConfig, type SshdConfigInput } from '../../lib/local/sshd-config.ts';
import { findSshd } from '../../lib/local/sshd-provider.ts';

const execFileAsync = promisify(execFile);

const sessionId = newSessionId();
const dir = `/var/lib/drawbridge/sessions/${sessionId}`;

function input(overrides: Partial<SshdConfigInput> = {}): SshdConfigInput {
  return {
    sessionId,
    listenHost: '127.0.0.1',
    port: 42022,
    hostKeyPath: `${dir}/ssh_host_ed25519_key`,
    authorizedKeysPath: `${dir}/authorized_keys`,
    pidFilePath: `${dir}/sshd.pid`,
    bannerPath: `${dir}/banner`,
    allowUser: 'alice',
    rootLogin: false,
    strictModes: true,
    targetHost: '10.0.1.20',
    targetPort: 5432,
    access: 'jump-only',
    ...overrides,
  };
}

/** keyword → values, as sshd reads the file (first word is the keyword, case-insensitive). */
function directives(config: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of config.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [keyword = '', ...rest] = line.trim().split(/\s+/);
    const key = keyword.toLowerCase();
    map.set(key, [...(map.get(key) ?? []), rest.join(' ')]);
  }
  return map;
}

const only = (config: string, keyword: string): string | undefined => {
  const values = directives(config).get(keyword.toLowerCase());
  expect(values?.length ?? 0).toBeLessThanOrEqual(1);
  return values?.[0];
};

describe('buildSshdConfig', () => {
  it('admits one user with a key only, to one forward', () => {
    const config = buildSshdConfig(input());
    expect(only(config, 'ListenAddress')).toBe('127.0.0.1:42022');
    expect(only(config, 'AllowUsers')).toBe('alice');
    expect(only(config, 'AuthorizedKeysFile')).toBe(`${dir}/authorized_keys`);
    expect(only(config, 'PermitOpen')).toBe('10.0.1.20:5432');
    expect(only(config, 'AuthenticationMethods')).toBe('publickey');
    expect(only(config, 'PasswordAuthentication')).toBe('no');
    expect(only(config, 'KbdInteractiveAuthentication')).toBe('no');
    expect(only(config, 'PermitRootLogin')).toBe('no');
    expect(only(config, 'AllowTcpForwarding')).toBe('local');
    expect(only(config, 'GatewayPorts')).toBe('no');
    expect(only(config, 'X11Forwarding')).toBe('no');
    expect(only(config, 'AllowAgentForwarding')).toBe('no');
    expect(only(config, 'PermitTunnel')).toBe('no');
    expect(only(config, 'StrictModes')).toBe('yes');
    expect(only(config, 'LogLevel')).toBe('VERBOSE');
    expect(only(config, 'UsePAM')).toBe('no');
    expect(directives(config).has('subsystem')).toBe(false);
  });

  it("runs a forced or requested command without the OS user's ~/.bashrc (not the first shell level)", () => {
    expect(only(buildSshdConfig(input({ access: 'shell' })), 'SetEnv')).toBe('SHLVL=1');
  });

  it('shows the banner file before login (CIS), never Banner none', () => {
    expect(only(buildSshdConfig(input()), 'Banner')).toBe(`${dir}/banner`);
  });

  it('gives a jump-only bastion no session and no tty, and a shell bastion both', () => {
    const jump = buildSshdConfig(input({ access: 'jump-only' }));
    const shell = buildSshdConfig(input({ access: 'shell' }));
    expect(only(jump, 'PermitTTY')).toBe('no');
    expect(only(jump, 'MaxSessions')).toBe('0');
    expect(only(jump, 'ForceCommand')).toBe('/bin/false');
    expect(only(shell, 'PermitTTY')).toBe('yes');
    expect(only(shell, 'MaxSessions')).toBe('2');
    expect(only(shell, 'ForceCommand')).toBeUndefined();
  });

  it('lets root in by key only, and only when Drawbridge itself runs as root', () => {
    expect(only(buildSshdConfig(input({ rootLogin: true })), 'PermitRootLogin')).toBe(
      'prohibit-password',
    );
  });

  it('brackets IPv6 addresses in ListenAddress and PermitOpen', () => {
    const config = buildSshdConfig(input({ listenHost: '::1', targetHost: 'fd00::20' }));
    expect(only(config, 'ListenAddress')).toBe('[::1]:42022');
    expect(only(config, 'PermitOpen')).toBe('[fd00::20]:5432');
  });

  it('accepts a DNS name as the target', () => {
    expect(only(buildSshdConfig(input({ targetHost: 'db.internal' })), 'PermitOpen')).toBe(
      'db.internal:5432',
    );
  });

  it.each([
    ['a target host that smuggles a directive', { targetHost: 'x\nPermitRootLogin yes' }],
    ['a target host with a space', { targetHost: 'db 10.0.0.1:22' }],
    ['a target host with a quote', { targetHost: 'db"' }],
    ['a listen host that is a name', { listenHost: 'localhost' }],
    ['a user that is a pattern', { allowUser: '*' }],
    ['a user@host pattern', { allowUser: 'alice@10.0.0.1' }],
    ['a user with a newline', { allowUser: 'alice\nPasswordAuthentication yes' }],
    ['a relative key path', { authorizedKeysPath: 'authorized_keys' }],
    ['a key path with a token', { authorizedKeysPath: `${dir}/%u` }],
    ['a key path with a space', { hostKeyPath: `${dir}/host key` }],
    ['a path climbing out', { pidFilePath: `${dir}/../../etc/x` }],
    ['a banner path with a newline', { bannerPath: `${dir}/banner\nBanner none` }],
    ['a port out of range', { port: 70000 }],
    ['a target port that is not whole', { targetPort: 22.5 }],
    ['an unknown access', { access: 'root' as never }],
    ['a session id that is not one', { sessionId: 's-../../x' }],
  ])('throws on %s', (_why, overrides) => {
    expect(() => buildSshdConfig(input(overrides))).toThrow(/unsafe .* for sshd_config/);
  });

  it('never echoes the refused value into the error', () => {
    expect(() => buildSshdConfig(input({ targetHost: 'x\nPermitRootLogin yes' }))).toThrow(
      'unsafe targetHost for sshd_config',
    );
  });
});

describe('buildSshdConfig read by the real sshd', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'drawbridge-sshd-config-'));
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'key')]);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it.each(['jump-only', 'shell'] as const)(
    'is a valid %s sshd_config (sshd -t)',
    async (access) => {
      const sshd = findSshd();
      expect(sshd).toBeDefined();
      const path = join(work, `sshd_config-${access}`);
      await writeFile(
        path,
        buildSshdConfig(
          input({
            access,
            hostKeyPath: join(work, 'key'),
            authorizedKeysPath: join(work, 'authorized_keys'),
            pidFilePath: join(work, 'sshd.pid'),
          }),
        ),
      );
      // -T prints the effective configuration: proof sshd parsed every line as we meant it.
      const { stdout } = await execFileAsync(sshd ?? '/usr/sbin/sshd', ['-T', '-f', path]);
      expect(stdout).toContain('permitopen 10.0.1.20:5432');
      expect(stdout).toContain(`allowtcpforwarding local`);
      expect(stdout).toContain('passwordauthentication no');
      expect(stdout).toContain(`maxsessions ${access === 'shell' ? 2 : 0}`);
    },
  );
});
