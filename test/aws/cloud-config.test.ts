import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  AGENT_CONFIG_PATH,
  AGENT_CTL,
  BANNER_PATH,
  type BastionUserDataInput,
  buildBastionUserData,
  cloudConfig,
  HOST_KEY_PATH,
  IMDS_GUARD_PATH,
  READINESS_SCRIPT,
  SELF_DESTRUCT_SCRIPT,
  SSHD_CONFIG_PATH,
} from '../../lib/aws/cloud-config.ts';
import { authorizedKeyLine } from '../../lib/domain/authorized-key.ts';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import { MAX_SELF_DESTRUCT_MINUTES, validatePolicy } from '../../lib/domain/policy.ts';
import { linuxUserFor } from '../../lib/domain/session.ts';
import { DEFAULT_BANNER } from '../../lib/domain/sshd-hardening.ts';

const SESSION_ID = 's-0123456789abcdefghjk';
const HOST_KEY = issueHostKey();
/** the session's absolute self-destruct time in the examples */
const SELF_DESTRUCT_AT = Date.UTC(2026, 10, 24, 7, 54, 1);
const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function keyLine(overrides: Partial<Parameters<typeof authorizedKeyLine>[0]> = {}): string {
  return authorizedKeyLine({
    publicKey: PUBLIC_KEY,
    targetHost: '10.0.1.20',
    targetPort: 5432,
    sourceCidr: '203.0.113.7/32',
    expiresAt: Date.UTC(2026, 10, 24, 6, 49, 1),
    access: 'jump-only',
    sessionId: SESSION_ID,
    ...overrides,
  });
}

function input(overrides: Partial<BastionUserDataInput> = {}): BastionUserDataInput {
  return {
    sessionId: SESSION_ID,
    linuxUser: linuxUserFor(SESSION_ID),
    authorizedKey: keyLine(),
    access: 'jump-only',
    targetHost: '10.0.1.20',
    targetPort: 5432,
    selfDestructAt: SELF_DESTRUCT_AT,
    hostKey: HOST_KEY,
    logGroupName: '/drawbridge/dev/sessions',
    banner: DEFAULT_BANNER,
    ...overrides,
  };
}

interface WrittenFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

interface CloudConfig {
  bootcmd: string[][];
  users: unknown[];
  ssh_pwauth: boolean;
  disable_root: boolean;
  ssh_deletekeys: boolean;
  ssh_genkeytypes: string[];
  ssh_keys: Record<string, string>;
  write_files: WrittenFile[];
  runcmd: string[][];
}

function render(value: BastionUserDataInput): CloudConfig {
  const text = buildBastionUserData(value);
  expect(text.startsWith('#cloud-config\n')).toBe(true);
  return parse(text) as CloudConfig;
}

function file(config: CloudConfig, path: string): WrittenFile {
  const found = config.write_files.find((entry) => entry.path === path);
  if (!found) throw new Error(`${path} was not written`);
  return found;
}

function sshdSettings(config: CloudConfig): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of file(config, SSHD_CONFIG_PATH).content.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [key = '', ...rest] = line.split(' ');
    settings.set(key, [...(settings.get(key) ?? []), rest.join(' ')]);
  }
  return settings;
}

const TOP_LEVEL_KEYS = [
  'bootcmd',
  'users',
  'ssh_pwauth',
  'disable_root',
  'ssh_deletekeys',
  'ssh_genkeytypes',
  'ssh_keys',
  'write_files',
  'runcmd',
];

function expectedBootcmd(selfDestructAt: number): string[][] {
  const seconds = String(Math.floor(selfDestructAt / 1000));
  return [['sh', '-c', SELF_DESTRUCT_SCRIPT, 'drawbridge-self-destruct', seconds]];
}

function expectedRuncmd(sessionId: string): string[][] {
  return [
    ['nft', '-f', IMDS_GUARD_PATH],
    ['systemctl', 'enable', '--now', 'rsyslog'],
    [AGENT_CTL, '-a', 'fetch-config', '-m', 'ec2', '-s', '-c', `file:${AGENT_CONFIG_PATH}`],
    ['sh', '-c', READINESS_SCRIPT, 'drawbridge-ready', sessionId],
  ];
}

// The user data is JSON after its first line (no YAML serializer in the functions); cloud-init
// reads it with PyYAML, a YAML 1.1 loader, which refuses DEL and C1 controls raw and reads NEL,
// U+2028 and U+2029 as line breaks: those must only ever appear escaped.
const YAML_11_HAZARDS = /[\u007f-\u009f\u2028\u2029\ufffe\uffff]/;

describe('cloudConfig', () => {
  it('writes #cloud-config, then the document as JSON, which a YAML loader reads the same', () => {
    const text = buildBastionUserData(input());
    const [first, json, ...rest] = text.split('\n');
    expect(first).toBe('#cloud-config');
    expect(rest).toEqual(['']);
    expect(parse(text)).toEqual(JSON.parse(json ?? ''));
  });

  it('escapes every character a YAML 1.1 reader would refuse or read as a line break (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        const text = cloudConfig({ write_files: [{ content: value }] });
        expect(text).not.toMatch(YAML_11_HAZARDS);
        expect(parse(text)).toEqual({ write_files: [{ content: value }] });
      }),
      { numRuns: 500 },
    );
    expect(cloudConfig({ s: 'a\u0085b\u2028c\u00e9' })).toBe(
      '#cloud-config\n{"s":"a\\u0085b\\u2028c\\u00e9"}\n',
    );
  });
});

describe('buildBastionUserData', () => {
  it('creates only the session user, locked, without sudo, and no default user', () => {
    const config = render(input());
    expect(Object.keys(config)).toEqual(TOP_LEVEL_KEYS);
    expect(config.users).toEqual([
      {
        name: 'db-0123456789ab',
        lock_passwd: true,
        shell: '/sbin/nologin',
        ssh_authorized_keys: [keyLine()],
      },
    ]);
    expect(config.ssh_pwauth).toBe(false);
    expect(config.disable_root).toBe(true);
  });

  it('gives a shell only when the target grants shell access', () => {
    const config = render(input({ access: 'shell', authorizedKey: keyLine({ access: 'shell' }) }));
    expect(config.users).toEqual([expect.objectContaining({ shell: '/bin/bash' })]);
    expect(sshdSettings(config).has('PermitTTY')).toBe(false);
    expect(sshdSettings(render(input())).get('PermitTTY')).toEqual(['no']);
  });

  it('delivers the authorized key byte for byte', () => {
    const key = keyLine({ targetHost: '2001:db8::5', sourceCidr: '2001:db8::7/128' });
    const config = render(input({ authorizedKey: key, targetHost: '2001:db8::5' }));
    expect(config.users).toEqual([expect.objectContaining({ ssh_authorized_keys: [key] })]);
  });

  it('arms the self-destruct at boot, at the absolute time, before users or keys exist, in argument form', () => {
    const config = render(input({ selfDestructAt: SELF_DESTRUCT_AT + 30 * 60_000 }));
    expect(config.bootcmd).toEqual(expectedBootcmd(SELF_DESTRUCT_AT + 30 * 60_000));
    expect(Object.keys(config)[0]).toBe('bootcmd');
    expect(config.runcmd).toEqual(expectedRuncmd(SESSION_ID));
    expect(config.runcmd.flat()).not.toContain('shutdown');
  });

  it('powers off at the absolute time however late the bastion boots (the script, run)', () => {
    const at = Math.floor(SELF_DESTRUCT_AT / 1000);
    const minutesLeft = (now: number) => {
      const left = Math.floor((at - now + 59) / 60);
      return left < 1 ? 'now' : `+${left}`;
    };
    // The shell arithmetic, mirrored: a boot 20 minutes late gets 20 minutes less.
    expect(minutesLeft(at - 65 * 60)).toBe('+65');
    expect(minutesLeft(at - 45 * 60)).toBe('+45');
    expect(minutesLeft(at - 30)).toBe('+1');
    expect(minutesLeft(at + 10)).toBe('now');
    expect(SELF_DESTRUCT_SCRIPT).toContain('($1 - $(date +%s) + 59) / 60');
  });

  it('carries only the session: no package, no update, no fetch at boot', () => {
    const text = buildBastionUserData(input());
    const config = parse(text) as Record<string, unknown>;
    for (const key of ['packages', 'package_update', 'package_upgrade', 'yum_repos', 'apt'])
      expect(config).not.toHaveProperty(key);
    const commands = JSON.stringify([config.bootcmd, config.runcmd]);
    for (const fetch of ['curl', 'wget', 'dnf', 'yum', 'rpm ', 'pip', 'http://', 'https://'])
      expect(commands).not.toContain(fetch);
  });

  it('hands sshd the host key Drawbridge issued, and only that one', () => {
    const config = render(input());
    expect(config.ssh_keys).toEqual({
      ed25519_private: HOST_KEY.privateKey,
      ed25519_public: HOST_KEY.publicKey,
    });
    expect(config.ssh_genkeytypes).toEqual([]);
    expect(config.ssh_deletekeys).toBe(true);
    expect(sshdSettings(config).get('HostKey')).toEqual([HOST_KEY_PATH]);
  });

  it('proves readiness last, after the agent ships the log, naming the session as an argument', () => {
    const config = render(input());
    expect(config.runcmd.at(-1)).toEqual([
      'sh',
      '-c',
      READINESS_SCRIPT,
      'drawbridge-ready',
      SESSION_ID,
    ]);
    // sshd's and sudo's configs are checked before sshd reloads (a recorded session needs sudo)
    expect(READINESS_SCRIPT).toMatch(/sshd -t\nvisudo -cq\nsystemctl reload sshd\n/);
    expect(READINESS_SCRIPT).toContain('ssh-keyscan -t ed25519 127.0.0.1');
    expect(READINESS_SCRIPT).toContain(
      'logger -p authpriv.notice -t drawbridge-ready "drawbridge-ready session=$1 hostkey=$got"',
    );
    expect(READINESS_SCRIPT).not.toContain(SESSION_ID);
  });

  it('writes a hardened sshd drop-in that allows one user and one forward', () => {
    const config = render(input());
    const written = file(config, SSHD_CONFIG_PATH);
    expect(written.permissions).toBe('0600');
    const settings = sshdSettings(config);
    const single = (key: string) => settings.get(key);
    expect(single('PermitRootLogin')).toEqual(['no']);
    expect(single('PasswordAuthentication')).toEqual(['no']);
    expect(single('KbdInteractiveAuthentication')).toEqual(['no']);
    expect(single('AuthenticationMethods')).toEqual(['publickey']);
    expect(single('AllowUsers')).toEqual(['db-0123456789ab']);
    expect(single('AllowTcpForwarding')).toEqual(['local']);
    expect(single('PermitOpen')).toEqual(['10.0.1.20:5432']);
    expect(single('AllowAgentForwarding')).toEqual(['no']);
    expect(single('AllowStreamLocalForwarding')).toEqual(['no']);
    expect(single('X11Forwarding')).toEqual(['no']);
    expect(single('PermitTunnel')).toEqual(['no']);
    expect(single('GatewayPorts')).toEqual(['no']);
    expect(single('PermitUserEnvironment')).toEqual(['no']);
    expect(single('MaxAuthTries')).toEqual(['3']);
    expect(single('MaxSessions')).toEqual(['2']);
    expect(single('LoginGraceTime')).toEqual(['30']);
    expect(single('ClientAliveInterval')).toEqual(['30']);
    expect(single('ClientAliveCountMax')).toEqual(['3']);
    expect(single('LogLevel')).toEqual(['VERBOSE']);
    expect(single('Banner')).toEqual([BANNER_PATH]);
    for (const key of ['Ciphers', 'MACs', 'KexAlgorithms']) {
      const list = single(key)?.[0]?.split(',') ?? [];
      expect(list.length).toBeGreaterThan(0);
      expect(list.some((name) => /cbc|md5|sha1$|group1-|group14-sha1/.test(name))).toBe(false);
    }
  });

  it('brackets an IPv6 target in PermitOpen', () => {
    const config = render(
      input({
        targetHost: '2001:db8::5',
        authorizedKey: keyLine({ targetHost: '2001:db8::5' }),
      }),
    );
    expect(sshdSettings(config).get('PermitOpen')).toEqual(['[2001:db8::5]:5432']);
  });

  it("shows the policy's banner before login, from its own file (CIS), never Banner none", () => {
    const banner = 'Property of Example Corp.\nAll activity is recorded.';
    const written = file(render(input({ banner })), BANNER_PATH);
    expect(written).toMatchObject({ owner: 'root:root', permissions: '0644' });
    expect(written.content).toBe(`${banner}\n`);
    expect(sshdSettings(render(input({ banner }))).get('Banner')).toEqual([BANNER_PATH]);
  });

  it('refuses a banner with control characters, blank or oversized', () => {
    for (const banner of ['\u001b[2J evil', '   ', 'x'.repeat(2049), 'tab\there']) {
      expect(() => render(input({ banner }))).toThrow(/unsafe banner/);
    }
  });

  it('gives instance metadata (the role credentials) to root only, before anything else runs', () => {
    const document = render(input()) as unknown as { runcmd: string[][] };
    const guard = file(render(input()), IMDS_GUARD_PATH);
    expect(guard.content).toContain('ip daddr 169.254.169.254 meta skuid != 0 reject');
    expect(guard.content).toContain('ip6 daddr fd00:ec2::254 meta skuid != 0 reject');
    expect(document.runcmd[0]).toEqual(['nft', '-f', IMDS_GUARD_PATH]);
  });

  it('ships /var/log/secure to the log group under the instance id the agent reads from metadata', () => {
    const agent = JSON.parse(file(render(input()), AGENT_CONFIG_PATH).content);
    expect(agent.logs.logs_collected.files.collect_list).toEqual([
      {
        file_path: '/var/log/secure',
        log_group_name: '/drawbridge/dev/sessions',
        log_stream_name: '{instance_id}',
        timezone: 'UTC',
      },
    ]);
    expect(agent.agent.region).toBeUndefined();
    const withRegion = JSON.parse(
      file(render(input({ region: 'eu-west-1' })), AGENT_CONFIG_PATH).content,
    );
    expect(withRegion.agent.region).toBe('eu-west-1');
  });

  it.each([
    ['sessionId', { sessionId: 's-short' }],
    ['linuxUser', { linuxUser: 'root; reboot' }],
    ['linuxUser', { linuxUser: 'Admin' }],
    ['authorizedKey', { authorizedKey: `${keyLine()}\nssh-ed25519 AAAA attacker` }],
    ['authorizedKey', { authorizedKey: '' }],
    ['targetHost', { targetHost: '10.0.0.1 extra' }],
    ['targetHost', { targetHost: 'db\nPermitOpen any' }],
    ['targetPort', { targetPort: 0 }],
    ['targetPort', { targetPort: 70000 }],
    ['targetPort', { targetPort: 22.5 }],
    ['selfDestructAt', { selfDestructAt: 0 }],
    ['selfDestructAt', { selfDestructAt: 1.5 }],
    ['selfDestructAt', { selfDestructAt: Number.NaN }],
    ['hostKey', { hostKey: { ...HOST_KEY, publicKey: `${HOST_KEY.publicKey}\nHostKey /tmp/x` } }],
    ['hostKey', { hostKey: { ...HOST_KEY, privateKey: 'not a key' } }],
    ['logGroupName', { logGroupName: '/drawbridge/"dev"' }],
    ['region', { region: 'eu-west-1; rm -rf /' }],
  ] as [string, Partial<BastionUserDataInput>][])('refuses an unsafe %s', (field, overrides) => {
    expect(() => buildBastionUserData(input(overrides))).toThrow(field);
  });

  it('accepts the longest self-destruct a valid policy can produce (deadline 30 + window 1440 + grace 60)', () => {
    const policy = validatePolicy({
      version: 1,
      adminGroup: 'admins',
      quota: { activeSessionsPerUser: 1 },
      provisioningDeadlineMinutes: 30,
      selfDestructGraceMinutes: 60,
      targets: [
        {
          name: 'long',
          mode: 'local',
          host: '127.0.0.1',
          port: 22,
          allowedGroups: ['dev'],
          defaultDurationMinutes: 1440,
          maxDurationMinutes: 1440,
        },
      ],
    });
    const longest = policy.provisioningDeadlineMinutes + 1440 + policy.selfDestructGraceMinutes + 1;
    const at = SELF_DESTRUCT_AT + longest * 60_000;
    expect(render(input({ selfDestructAt: at })).bootcmd).toEqual(expectedBootcmd(at));
    expect(longest).toBeLessThanOrEqual(MAX_SELF_DESTRUCT_MINUTES);
  });

  const base32 = fc
    .array(fc.constantFrom(...'0123456789abcdefghjkmnpqrstvwxyz'), {
      minLength: 20,
      maxLength: 20,
    })
    .map((chars) => `s-${chars.join('')}`);
  const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
  const sourceCidr = fc.oneof(
    fc.ipV4().map((ip) => `${ip}/32`),
    fc.ipV6().map((ip) => `${ip}/128`),
  );
  const publicKey = fc
    .uint8Array({ minLength: 32, maxLength: 600 })
    .map((bytes) => `ssh-ed25519 ${Buffer.from(bytes).toString('base64')}`);

  it('always yields exactly the expected users and commands (property)', () => {
    fc.assert(
      fc.property(
        base32,
        fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/),
        fc.constantFrom('jump-only' as const, 'shell' as const),
        host,
        fc.integer({ min: 1, max: 65535 }),
        fc.integer({ min: 1, max: 24 * 60 + 60 }),
        sourceCidr,
        publicKey,
        fc.stringMatching(/^[ -~\n]{1,400}$/).filter((text) => text.trim() !== ''),
        (sessionId, linuxUser, access, targetHost, targetPort, minutes, cidr, key, banner) => {
          const authorizedKey = authorizedKeyLine({
            publicKey: key,
            targetHost,
            targetPort,
            sourceCidr: cidr,
            expiresAt: Date.UTC(2030, 0, 1),
            access,
            sessionId,
          });
          const config = render({
            sessionId,
            linuxUser,
            authorizedKey,
            access,
            targetHost,
            targetPort,
            selfDestructAt: SELF_DESTRUCT_AT + minutes * 60_000,
            hostKey: HOST_KEY,
            logGroupName: '/drawbridge/prod/sessions',
            banner,
          });
          expect(Object.keys(config)).toEqual(TOP_LEVEL_KEYS);
          expect(config.users).toEqual([
            {
              name: linuxUser,
              lock_passwd: true,
              shell: access === 'shell' ? '/bin/bash' : '/sbin/nologin',
              ssh_authorized_keys: [authorizedKey],
            },
          ]);
          expect(config.runcmd).toEqual(expectedRuncmd(sessionId));
          expect(config.bootcmd).toEqual(expectedBootcmd(SELF_DESTRUCT_AT + minutes * 60_000));
          expect(config.write_files.map((entry) => entry.path)).toEqual([
            IMDS_GUARD_PATH,
            BANNER_PATH,
            SSHD_CONFIG_PATH,
            AGENT_CONFIG_PATH,
          ]);
          // the banner stays in its own file, whatever it says
          expect(file(config, BANNER_PATH).content.trimEnd()).toBe(banner.trimEnd());
          expect(sshdSettings(config).get('Banner')).toEqual([BANNER_PATH]);
          const settings = sshdSettings(config);
          expect(settings.get('AllowUsers')).toEqual([linuxUser]);
          expect(settings.get('PermitOpen')).toHaveLength(1);
        },
      ),
    );
  });

  // Characters that matter to YAML, sshd_config, authorized_keys or a shell, plus harmless ones.
  const hostile = (maxLength: number) =>
    fc.string({
      unit: fc.constantFrom(...'ab_z09-.:/\n\r\t #"\'\\$`;|&{}[],*!%@'),
      maxLength,
    });

  const SSHD_KEYWORDS = new Set([
    'PermitRootLogin',
    'PasswordAuthentication',
    'KbdInteractiveAuthentication',
    'PermitEmptyPasswords',
    'HostbasedAuthentication',
    'IgnoreRhosts',
    'PubkeyAuthentication',
    'AuthenticationMethods',
    'AllowUsers',
    'AllowTcpForwarding',
    'PermitOpen',
    'AllowAgentForwarding',
    'AllowStreamLocalForwarding',
    'X11Forwarding',
    'PermitTunnel',
    'GatewayPorts',
    'PermitUserEnvironment',
    'PermitTTY',
    'MaxAuthTries',
    'MaxSessions',
    'MaxStartups',
    'LoginGraceTime',
    'ClientAliveInterval',
    'ClientAliveCountMax',
    'LogLevel',
    'Ciphers',
    'MACs',
    'KexAlgorithms',
    'Banner',
    'HostKey',
  ]);

  it('never lets a hostile value add a user, key, command or sshd line (property)', () => {
    const field = fc.constantFrom(
      'sessionId',
      'linuxUser',
      'authorizedKey',
      'targetHost',
      'logGroupName',
      'region',
    );
    const value = fc.oneof(
      hostile(60),
      fc.constantFrom(
        `${keyLine()}\nssh-ed25519 AAAA attacker`,
        'db-x\nPermitOpen any',
        'db-x *',
        '10.0.0.1:22 PermitOpen',
      ),
    );
    fc.assert(
      fc.property(field, value, (name, hostileValue) => {
        const overrides: Partial<BastionUserDataInput> = { [name]: hostileValue };
        let text: string;
        try {
          text = buildBastionUserData(input(overrides));
        } catch {
          return; // refused: nothing was produced
        }
        const config = parse(text) as CloudConfig;
        expect(Object.keys(config)).toEqual(TOP_LEVEL_KEYS);
        expect(config.runcmd).toEqual(expectedRuncmd(SESSION_ID));
        expect(config.bootcmd).toEqual(expectedBootcmd(SELF_DESTRUCT_AT));
        const [user] = config.users as { name: string; ssh_authorized_keys: string[] }[];
        expect(config.users).toHaveLength(1);
        expect(user?.name).toMatch(/^[a-z_][a-z0-9_-]*$/);
        expect(user?.ssh_authorized_keys).toHaveLength(1);
        expect(user?.ssh_authorized_keys[0]).not.toMatch(/[\r\n]/);
        const lines = file(config, SSHD_CONFIG_PATH)
          .content.split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'));
        for (const line of lines) {
          expect(SSHD_KEYWORDS.has(line.split(' ')[0] ?? '')).toBe(true);
          expect(line.split(' ')).toHaveLength(2);
        }
        const settings = sshdSettings(config);
        expect(settings.get('AllowUsers')).toEqual([user?.name]);
        expect(settings.get('PermitOpen')).toHaveLength(1);
        const agent = JSON.parse(file(config, AGENT_CONFIG_PATH).content);
        expect(agent.logs.logs_collected.files.collect_list).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
  });
});
