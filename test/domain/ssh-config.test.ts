import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SshConfigValueError } from '../../lib/domain/errors.ts';
import { type SshConfigBlock, sshConfigBlock } from '../../lib/domain/ssh-config.ts';

const base: SshConfigBlock = {
  alias: 'drawbridge-prod-db',
  host: '198.51.100.7',
  port: 2201,
  user: 'db-abc',
  knownHostsFile: '~/.ssh/drawbridge-s-0123456789abcdefghjk.known_hosts',
  use: { shell: true },
};

/** The only lines a block may hold, each with the only values its directive takes. */
const ALLOWED = [
  /^Host [A-Za-z0-9][A-Za-z0-9._-]*$/,
  /^ {2}HostName [0-9A-Za-z_.:-]+$/,
  /^ {2}Port \d{1,5}$/,
  /^ {2}User [a-z_][a-z0-9_-]*$/,
  /^ {2}IdentityFile ("[^"\n]+"|[^\s"]+)$/,
  /^ {2}IdentitiesOnly yes$/,
  /^ {2}StrictHostKeyChecking yes$/,
  /^ {2}UserKnownHostsFile ("[^"\n]+"|[^\s"]+)$/,
  /^ {2}RequestTTY force$/,
  /^ {2}LocalForward 127\.0\.0\.1:\d{1,5} (\[[0-9A-Za-z_.:-]+\]|[0-9A-Za-z_.-]+):\d{1,5}$/,
  /^ {2}SessionType none$/,
];

/** Builds the block, or says why not; never anything else. */
function build(block: SshConfigBlock): string | undefined {
  try {
    return sshConfigBlock(block);
  } catch (error) {
    expect(error).toBeInstanceOf(SshConfigValueError);
    return undefined;
  }
}

function expectOnlyAllowedLines(text: string) {
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  expect(lines.filter((line) => line.startsWith('Host '))).toHaveLength(1);
  expect(lines[0]?.startsWith('Host ')).toBe(true);
  for (const line of lines) {
    expect(
      ALLOWED.some((pattern) => pattern.test(line)),
      line,
    ).toBe(true);
  }
}

describe('the ~/.ssh/config block (API and CLI, one builder)', () => {
  it('is the same lines the API has always given, for a recorded shell and a forward', () => {
    expect(sshConfigBlock(base)).toBe(
      [
        'Host drawbridge-prod-db',
        '  HostName 198.51.100.7',
        '  Port 2201',
        '  User db-abc',
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking yes',
        '  UserKnownHostsFile ~/.ssh/drawbridge-s-0123456789abcdefghjk.known_hosts',
        '  RequestTTY force',
        '',
      ].join('\n'),
    );
    expect(
      sshConfigBlock({
        ...base,
        identityFile: '/home/a b/keys/100%/id_ed25519',
        use: { forward: { localPort: 15432, host: '2001:db8::7', port: 5432 } },
      }),
    ).toBe(
      [
        'Host drawbridge-prod-db',
        '  HostName 198.51.100.7',
        '  Port 2201',
        '  User db-abc',
        // quoted for the space; % doubled, or ssh would read a %-token
        '  IdentityFile "/home/a b/keys/100%%/id_ed25519"',
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking yes',
        '  UserKnownHostsFile ~/.ssh/drawbridge-s-0123456789abcdefghjk.known_hosts',
        '  LocalForward 127.0.0.1:15432 [2001:db8::7]:5432',
        '  SessionType none',
        '',
      ].join('\n'),
    );
  });

  it('is read by ssh itself as meant: an IPv6 bastion bare in HostName, bracketed in LocalForward', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-ssh-config-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(
        file,
        sshConfigBlock({
          ...base,
          host: '2001:db8::5',
          use: { forward: { localPort: 15432, host: '2001:db8::7', port: 5432 } },
        }),
      );
      // ssh -G prints the configuration it would use, without connecting
      const seen = execFileSync('ssh', ['-G', '-F', file, 'drawbridge-prod-db'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).split('\n');
      expect(seen).toContain('hostname 2001:db8::5');
      expect(seen).toContain('port 2201');
      expect(seen).toContain('localforward [127.0.0.1]:15432 [2001:db8::7]:5432');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directive smuggled into any field after a newline, a space or a quote', () => {
    const smuggled = [
      { ...base, user: 'db-abc\n  ProxyCommand sh -c pwned' },
      { ...base, host: '198.51.100.7\n  LocalCommand pwned' },
      { ...base, alias: 'x\nHost *\n  ProxyCommand pwned' },
      { ...base, alias: '*' },
      { ...base, knownHostsFile: '/tmp/k\n  PermitLocalCommand yes' },
      { ...base, identityFile: '/tmp/k" ProxyCommand "pwned' },
      { ...base, use: { forward: { localPort: 1, host: 'db\rInclude /tmp/pwned', port: 5432 } } },
      { ...base, port: Number.NaN },
    ];
    for (const block of smuggled) {
      expect(() => sshConfigBlock(block), JSON.stringify(block)).toThrow(SshConfigValueError);
    }
  });

  it('whatever the fields hold, gives only the allowed lines, or refuses', () => {
    const anyText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('\n  ProxyCommand x', 'a\nInclude b', 'ok', '-oProxyCommand=x', '127.0.0.1'),
    );
    const anyPort = fc.oneof(fc.integer(), fc.double(), fc.integer({ min: 1, max: 65_535 }));
    fc.assert(
      fc.property(
        fc.record({
          alias: anyText,
          host: anyText,
          port: anyPort,
          user: anyText,
          identityFile: fc.option(anyText, { nil: undefined }),
          knownHostsFile: fc.option(anyText, { nil: undefined }),
          use: fc.oneof(
            fc.constant({ shell: true as const }),
            fc.record({
              forward: fc.record({ localPort: anyPort, host: anyText, port: anyPort }),
            }),
          ),
        }),
        (block) => {
          const text = build(block);
          if (text !== undefined) expectOnlyAllowedLines(text);
        },
      ),
    );
  });

  it('builds every well-formed session, with the values it was given', () => {
    const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
    const hostName = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
    const port = fc.integer({ min: 1, max: 65_535 });
    const printable = (char: string) => char.charCodeAt(0) > 31 && char.charCodeAt(0) !== 127;
    const path = fc
      .string({ minLength: 1 })
      .filter((text) => [...text].every((char) => printable(char) && char !== '"'));
    fc.assert(
      fc.property(
        label,
        hostName,
        port,
        fc.stringMatching(/^[a-z_][a-z0-9_-]{0,31}$/),
        path,
        fc.option(fc.record({ localPort: port, host: hostName, port }), { nil: undefined }),
        (name, host, bastionPort, user, knownHostsFile, forward) => {
          const text = sshConfigBlock({
            alias: `drawbridge-${name}`,
            host,
            port: bastionPort,
            user,
            knownHostsFile,
            use: forward ? { forward } : { shell: true },
          });
          expectOnlyAllowedLines(text);
          expect(text).toContain(`\n  User ${user}\n`);
          expect(text).toContain(`\n  Port ${bastionPort}\n`);
          expect(text).toContain(`\n  HostName ${host}\n`);
          expect(text.includes('RequestTTY force')).toBe(forward === undefined);
        },
      ),
    );
  });
});
