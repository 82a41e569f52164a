import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSshdLine } from '../../lib/domain/sshd-log.ts';

const KEY = 'SHA256:M3r5WVSwYhVV8EK/u9MutGEdinF6TtXtp6OVtV9ro2c';

describe('parseSshdLine', () => {
  it.each([
    [
      'Connection from 127.0.0.1 port 53970 on 127.0.0.1 port 34867 rdomain ""',
      { kind: 'connected', address: '127.0.0.1', port: 53970 },
    ],
    [
      `Accepted publickey for root from 127.0.0.1 port 53970 ssh2: ED25519 ${KEY}`,
      { kind: 'authenticated', user: 'root', address: '127.0.0.1', port: 53970, key: KEY },
    ],
    [
      'refused local port forward: originator 203.0.113.9 port 41000, target 10.0.9.9 port 22',
      { kind: 'refused-forward', address: '203.0.113.9', port: 41000, target: '10.0.9.9:22' },
    ],
    [
      'Received request from 127.0.0.1 port 40000 to connect to host 127.0.0.1 port 8787, but the request was denied.',
      { kind: 'refused-forward', address: '127.0.0.1', port: 40000, target: '127.0.0.1:8787' },
    ],
    [
      'Disconnected from user db-abc 2001:db8::7 port 51515',
      { kind: 'disconnected', user: 'db-abc', address: '2001:db8::7', port: 51515 },
    ],
    [
      'Connection closed by authenticating user db-abc 198.51.100.4 port 40404 [preauth]',
      { kind: 'auth-failed', user: 'db-abc', address: '198.51.100.4', port: 40404 },
    ],
  ])('reads %s', (line, expected) => {
    expect(parseSshdLine(line)).toEqual(expected);
  });

  it('reads lines shipped from /var/log/secure with their syslog prefix, and keeps the time', () => {
    const line = `Nov 24 07:39:20 ip-10-0-1-5 sshd[1234]: Accepted publickey for db-abc from 203.0.113.9 port 60000 ssh2: ED25519 ${KEY}`;
    expect(parseSshdLine(line, 1795510760000)).toEqual({
      kind: 'authenticated',
      user: 'db-abc',
      address: '203.0.113.9',
      port: 60000,
      key: KEY,
      at: 1795510760000,
    });
  });

  it('skips everything else', () => {
    for (const line of [
      'Server listening on 127.0.0.1 port 34867.',
      'Received signal 15; terminating.',
      '',
      'Accepted publickey for root',
    ]) {
      expect(parseSshdLine(line)).toBeUndefined();
    }
  });

  it('never throws, and only ever returns a known kind with a valid port (property)', () => {
    const kinds = ['connected', 'authenticated', 'refused-forward', 'disconnected', 'auth-failed'];
    const sshdish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .tuple(
          fc.constantFrom(
            'Connection from ',
            'Accepted publickey for root from ',
            'Disconnected from user root ',
          ),
          fc.string(),
          fc.string(),
        )
        .map(([prefix, a, b]) => `${prefix}${a} port ${b}`),
      fc
        .tuple(fc.ipV4(), fc.integer({ min: 0, max: 200_000 }))
        .map(([ip, port]) => `Connection from ${ip} port ${port} on 127.0.0.1 port 22`),
    );
    fc.assert(
      fc.property(sshdish, (line) => {
        const record = parseSshdLine(line);
        if (record === undefined) return;
        expect(kinds).toContain(record.kind);
        expect(Number.isInteger(record.port) && record.port >= 0 && record.port <= 65535).toBe(
          true,
        );
      }),
      { numRuns: 2000 },
    );
  });
});
