import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AuthorizedKeyInput, authorizedKeyLine } from '../../lib/domain/authorized-key.ts';
import { hostCidr } from '../../lib/domain/network.ts';
import { parsePublicKey } from '../../lib/domain/public-key.ts';
import { newSessionId } from '../../lib/domain/session.ts';

// A real ed25519 public key (ssh-keygen output), normalized the way the API stores it.
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIORhDFAkYnEJMg2DVhoaKS/5ThZxSz09KQrpuVrKu8m7';
const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBLFpZWL/8nUpmPS+8T1a94Ie42XEkHUvL0xZ1/KaC2TlMijUaeWPpES4Kz4EWT6sCR+UlDp2xhlR3OwM2qqN09A=';

const EXPIRES = Date.UTC(2026, 10, 24, 6, 49, 1, 500);

const input = (overrides: Partial<AuthorizedKeyInput> = {}): AuthorizedKeyInput => ({
  publicKey: parsePublicKey(`${ED25519} alice@laptop`).normalized,
  targetHost: '10.0.1.5',
  targetPort: 5432,
  sourceCidr: '203.0.113.9/32',
  expiresAt: EXPIRES,
  access: 'jump-only',
  sessionId: 's-0123456789abcdefghjk',
  ...overrides,
});

/** Splits an authorized_keys line the way sshd does: options up to the first unquoted space. */
function splitLine(line: string): { options: string[]; rest: string[] } {
  let inQuotes = false;
  let end = 0;
  for (; end < line.length; end += 1) {
    const char = line[end];
    if (char === '"') inQuotes = !inQuotes;
    else if (char === ' ' && !inQuotes) break;
  }
  const optionText = line.slice(0, end);
  const options: string[] = [];
  let current = '';
  inQuotes = false;
  for (const char of optionText) {
    if (char === '"') inQuotes = !inQuotes;
    if (char === ',' && !inQuotes) {
      options.push(current);
      current = '';
    } else current += char;
  }
  options.push(current);
  return { options, rest: line.slice(end + 1).split(' ') };
}

describe('authorizedKeyLine', () => {
  it('jump-only: restrict, one forward, source and expiry pinned, no pty', () => {
    expect(authorizedKeyLine(input())).toBe(
      `restrict,port-forwarding,permitopen="10.0.1.5:5432",from="203.0.113.9/32",expiry-time="20261124064901Z" ${ED25519} drawbridge-s-0123456789abcdefghjk`,
    );
  });

  it('shell adds a pty and nothing else', () => {
    const { options } = splitLine(authorizedKeyLine(input({ access: 'shell' })));
    expect(options).toEqual([
      'restrict',
      'port-forwarding',
      'pty',
      'permitopen="10.0.1.5:5432"',
      'from="203.0.113.9/32"',
      'expiry-time="20261124064901Z"',
    ]);
    expect(splitLine(authorizedKeyLine(input())).options).not.toContain('pty');
  });

  it('puts an IPv6 target in brackets for permitopen, and takes an IPv6 /128 source', () => {
    const line = authorizedKeyLine(
      input({ targetHost: '2001:db8::5', targetPort: 22, sourceCidr: hostCidr('2001:DB8::9') }),
    );
    expect(line).toContain('permitopen="[2001:db8::5]:22"');
    expect(line).toContain('from="2001:db8::9/128"');
  });

  it('takes a DNS target host as is', () => {
    expect(authorizedKeyLine(input({ targetHost: 'db.internal.example' }))).toContain(
      'permitopen="db.internal.example:5432"',
    );
  });

  it('writes the expiry in YYYYMMDDHHMMSSZ (UTC)', () => {
    const line = authorizedKeyLine(input({ expiresAt: Date.UTC(2027, 0, 2, 3, 4, 5) }));
    expect(line).toMatch(/expiry-time="\d{14}Z"/);
    expect(line).toContain('expiry-time="20270102030405Z"');
  });

  it('the comment drops what the caller wrote and names the session', () => {
    const line = authorizedKeyLine(input({ publicKey: ECDSA }));
    expect(line.endsWith(` ${ECDSA} drawbridge-s-0123456789abcdefghjk`)).toBe(true);
    expect(line).not.toContain('laptop');
  });

  it.each([
    ['targetHost', { targetHost: '10.0.1.5" command="/bin/sh' }],
    ['targetHost', { targetHost: '10.0.1.5,command=x' }],
    ['targetHost', { targetHost: 'db\ninternal' }],
    ['targetHost', { targetHost: '' }],
    ['targetHost', { targetHost: 'fe80::1%eth0' }],
    ['sourceCidr', { sourceCidr: '*' }],
    ['sourceCidr', { sourceCidr: '203.0.113.9/32,0.0.0.0/0' }],
    ['sourceCidr', { sourceCidr: '203.0.113.9/32 ' }],
    ['sessionId', { sessionId: 's-1 ssh-ed25519 AAAA' }],
    ['sessionId', { sessionId: 's-1\nssh-ed25519' }],
    ['publicKey', { publicKey: `${ED25519} alice@laptop` }],
    ['publicKey', { publicKey: `${ED25519}\n${ED25519}` }],
    ['publicKey', { publicKey: `command="x" ${ED25519}` }],
    ['publicKey', { publicKey: `${ED25519}\n` }],
    ['publicKey', { publicKey: 'ssh-ed25519' }],
  ] as const)('refuses an unsafe %s', (_field, overrides) => {
    expect(() => authorizedKeyLine(input(overrides))).toThrow(/unsafe value|must be normalized/);
  });
});

describe('property: always exactly one line with exactly one key', () => {
  const ipv4 = fc.ipV4();
  const ipv6 = fc.ipV6();
  const anyText = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  const hostArb = fc.oneof(ipv4, ipv6, fc.domain(), anyText);
  const cidrArb = fc.oneof(
    ipv4.map((ip) => hostCidr(ip)),
    ipv6.map((ip) => hostCidr(ip)),
    anyText,
  );
  const keyArb = fc.oneof(fc.constantFrom(ED25519, ECDSA), anyText);
  const portArb = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.double());
  const sessionArb = fc.oneof(
    fc.constant(null).map(() => newSessionId()),
    anyText,
  );

  it('either refuses or yields one sshd-parsable line: options, type, blob, session comment', () => {
    let produced = 0;
    fc.assert(
      fc.property(
        fc.record({
          publicKey: keyArb,
          targetHost: hostArb,
          targetPort: portArb,
          sourceCidr: cidrArb,
          expiresAt: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2100, 0, 1) }),
          access: fc.constantFrom('jump-only', 'shell' as const),
          sessionId: sessionArb,
        }),
        (candidate) => {
          let line: string;
          try {
            line = authorizedKeyLine(candidate);
          } catch (error) {
            expect((error as Error).message).toMatch(/unsafe value|must be normalized/);
            return;
          }
          produced += 1;
          expect(line).not.toMatch(/[\r\n\0\u2028\u2029]/);
          const { options, rest } = splitLine(line);
          expect(options.slice(0, 2)).toEqual(['restrict', 'port-forwarding']);
          expect(options).toHaveLength(candidate.access === 'shell' ? 6 : 5);
          expect(options.filter((option) => option.startsWith('permitopen='))).toHaveLength(1);
          expect(options.filter((option) => option.startsWith('from='))).toEqual([
            `from="${candidate.sourceCidr}"`,
          ]);
          expect(rest).toEqual([
            ...candidate.publicKey.split(' '),
            `drawbridge-${candidate.sessionId}`,
          ]);
          expect(rest).toHaveLength(3);
          expect(line.split(' ')).toHaveLength(4);
        },
      ),
      { numRuns: 3000 },
    );
    expect(produced).toBeGreaterThan(100);
  });
});
