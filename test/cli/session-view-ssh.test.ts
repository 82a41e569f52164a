// The CLI builds ssh's argument list from the API's connection view: nothing in it may pass
// for an ssh option, whatever the API (or something posing as it) sends.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessionView } from '../../cli/api-client.ts';
import { newSessionId } from '../../lib/domain/session.ts';

function view(bastion: { host: string; port: number; user: string }, targetHost = '10.0.0.5') {
  return {
    id: newSessionId(),
    status: 'READY',
    target: 'prod-db',
    mode: 'ec2',
    owner: 'alice',
    sourceCidr: '198.51.100.7/32',
    reason: 'ticket 42',
    durationMinutes: 30,
    createdAt: '2026-12-02T00:00:00.000Z',
    connection: {
      bastion,
      target: { host: targetHost, port: 5432 },
      sshConfig: 'Host drawbridge-prod-db\n',
    },
  };
}
const parses = (value: unknown) => SessionView.safeParse(value).success;

describe("the CLI's reading of a connection view", () => {
  it('accepts Linux user names, DNS names and IPv4/IPv6 addresses', () => {
    for (const host of [
      '198.51.100.7',
      'ip-10-0-0-5.eu-west-1.compute.internal',
      '::1',
      '2001:db8::7',
    ]) {
      expect(parses(view({ host, port: 22, user: 'db-alice' }, host))).toBe(true);
    }
  });

  it('refuses any user or host that ssh would read as an option', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('user', 'host', 'target'), (rest, where) => {
        const bad = `-${rest}`;
        const bastion = {
          host: where === 'host' ? bad : '198.51.100.7',
          port: 22,
          user: where === 'user' ? bad : 'db-alice',
        };
        expect(parses(view(bastion, where === 'target' ? bad : '10.0.0.5'))).toBe(false);
      }),
    );
    expect(parses(view({ host: '198.51.100.7', port: 22, user: '-oProxyCommand=sh' }))).toBe(false);
  });

  it('refuses user names and hosts with spaces, quotes or shell characters, and ports out of range', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((text) => /[^A-Za-z0-9_.:-]/.test(text)),
        (text) => {
          expect(parses(view({ host: text, port: 22, user: 'db-alice' }))).toBe(false);
          expect(parses(view({ host: '198.51.100.7', port: 22, user: text }))).toBe(false);
        },
      ),
    );
    for (const port of [0, 65_536, -1]) {
      expect(parses(view({ host: '198.51.100.7', port, user: 'db-alice' }))).toBe(false);
    }
  });
});
