import { describe, expect, it } from 'vitest';
import { authorizedKeyLine } from '../../lib/domain/authorized-key.ts';
import { newSessionId } from '../../lib/domain/session.ts';
import { buildSshdConfig } from '../../lib/local/sshd-config.ts';

const base = {
  sessionId: newSessionId(),
  listenHost: '127.0.0.1',
  port: 2222,
  hostKeyPath: '/data/s/key',
  authorizedKeysPath: '/data/s/authorized_keys',
  pidFilePath: '/data/s/sshd.pid',
  bannerPath: '/data/s/banner',
  allowUser: 'alice',
  rootLogin: false,
  strictModes: true,
  targetHost: '10.0.0.5',
  targetPort: 5432,
  access: 'shell' as const,
};
const first = (config: string, key: string): string | undefined =>
  config
    .split('\n')
    .find((line) => line.startsWith(`${key} `))
    ?.slice(key.length + 1);

describe('a recorded bastion’s sshd_config and key', () => {
  it('forces the recorder and allows no forward: sshd reads the first value of each keyword', () => {
    const config = buildSshdConfig({
      ...base,
      recorder: '/usr/bin/python3 -I /opt/drawbridge-record --config /data/s/recording.json',
    });
    expect(first(config, 'ForceCommand')).toBe(
      '/usr/bin/python3 -I /opt/drawbridge-record --config /data/s/recording.json',
    );
    expect(first(config, 'AllowTcpForwarding')).toBe('no');
    expect(first(config, 'PermitOpen')).toBe('none');
    expect(first(config, 'DisableForwarding')).toBe('yes');
    expect(first(config, 'PermitTTY')).toBe('yes');
    expect(config).not.toMatch(/^Subsystem/m);
  });

  it.each(['/x/rec; rm -rf /', '/x/rec\nForceCommand /bin/sh', 'rec', '/x/../rec', '/x/rec -c;sh'])(
    'refuses an unsafe recorder command %j',
    (recorder) => {
      expect(() => buildSshdConfig({ ...base, recorder })).toThrow(/unsafe recorder/);
    },
  );

  it('the recorded key forces the recorder with a terminal and carries no forward', () => {
    const line = authorizedKeyLine({
      publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMAxuFiTTRq0eoHISISdARbMjZwpYmsCe6UJFwMVclpr',
      targetHost: '10.0.0.5',
      targetPort: 5432,
      sourceCidr: '203.0.113.10/32',
      expiresAt: Date.UTC(2026, 2, 1, 9, 30),
      access: 'shell',
      sessionId: base.sessionId,
      recorded: true,
    });
    expect(line).toMatch(
      /^restrict,pty,command="\/usr\/bin\/sudo -n \/usr\/local\/bin\/drawbridge-record",from=/,
    );
    expect(line).not.toContain('port-forwarding');
    expect(line).not.toContain('permitopen');
  });
});
