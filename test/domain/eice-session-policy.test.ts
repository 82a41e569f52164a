import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildEiceSessionPolicy,
  EICE_MAX_TUNNEL_SECONDS,
  type EiceSessionPolicyInput,
  eiceCommands,
  tunnelBounds,
} from '../../lib/domain/eice-session-policy.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { validatePolicy } from '../../lib/domain/policy.ts';

const NOW = Date.parse('2026-11-24T09:00:00.000Z');
const MINUTE = 60_000;

const target = (overrides: Record<string, unknown> = {}, eice: Record<string, unknown> = {}) => ({
  name: 'web-ssh',
  mode: 'eice',
  host: '10.0.1.5',
  port: 22,
  allowedGroups: ['dev'],
  defaultDurationMinutes: 30,
  maxDurationMinutes: 60,
  eice: { instanceId: 'i-0123456789abcdef0', osUser: 'ec2-user', ...eice },
  ...overrides,
});
const policyWith = (t: unknown, extra: Record<string, unknown> = {}) => ({
  version: 1,
  adminGroup: 'admins',
  quota: { activeSessionsPerUser: 2 },
  targets: [t],
  ...extra,
});
const errorOf = (document: unknown): string => {
  try {
    validatePolicy(document);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as Error).message;
  }
  throw new Error('policy was accepted');
};

describe('policy: mode eice', () => {
  it('accepts an instance by id or by tags, with defaults (key push on, 20 per endpoint)', () => {
    const policy = validatePolicy(
      policyWith(target({}, { instanceId: undefined, instanceTags: { Name: 'web' } })),
    );
    expect(policy.eiceSessionsPerEndpoint).toBe(20);
    expect(policy.targets[0]?.eice).toEqual({
      instanceTags: { Name: 'web' },
      osUser: 'ec2-user',
      sendSshPublicKey: true,
    });
  });

  it.each([
    [target({ eice: undefined }), 'targets[0].eice: is required for mode eice'],
    [
      target({}, { instanceTags: { Name: 'web' } }),
      'must name exactly one of instanceId or instanceTags',
    ],
    [
      target({}, { osUser: undefined }),
      'targets[0].eice.osUser: is required for an SSH target (port 22)',
    ],
    [target({ port: 5432 }), 'targets[0].eice.osUser: is only for an SSH target (port 22)'],
    [target({}, { endpointId: 'vpce-0123456789abcdef0' }), 'an endpoint id like eice-0abc…'],
    [target({}, { osUser: 'Root User' }), 'a Linux user name like ec2-user'],
    [target({ access: 'shell' }), 'targets[0].access: is jump-only for mode eice'],
    [
      target({
        network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] },
      }),
      'targets[0].network: is not for mode eice',
    ],
    [
      { ...target(), mode: 'ssm', ssm: { instanceId: 'i-0123456789abcdef0' } },
      'targets[0].eice: is only for mode eice',
    ],
  ])('refuses %#, naming the field', (bad, message) => {
    expect(errorOf(policyWith(bad))).toContain(message);
  });

  it("refuses a per-endpoint cap above the endpoint's own 20 connections", () => {
    expect(errorOf(policyWith(target(), { eiceSessionsPerEndpoint: 21 }))).toContain(
      'eiceSessionsPerEndpoint',
    );
  });

  it('never crashes on random eice blocks: valid, or a PolicyError naming the field', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            instanceId: fc.oneof(fc.constant('i-0123456789abcdef0'), fc.string({ maxLength: 20 })),
            instanceTags: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
              maxKeys: 3,
            }),
            endpointId: fc.oneof(
              fc.constant('eice-0123456789abcdef0'),
              fc.string({ maxLength: 20 }),
            ),
            osUser: fc.oneof(fc.constant('ec2-user'), fc.string({ maxLength: 40 })),
            sendSshPublicKey: fc.oneof(fc.boolean(), fc.string({ maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
        fc.integer({ min: -1, max: 70_000 }),
        (eice, port) => {
          try {
            const policy = validatePolicy(policyWith({ ...target({ port }), eice }));
            const parsed = policy.targets[0]?.eice;
            expect(
              (parsed?.instanceId === undefined) !== (parsed?.instanceTags === undefined),
            ).toBe(true);
            expect(parsed?.osUser === undefined).toBe(port !== 22);
          } catch (error) {
            expect(error).toBeInstanceOf(PolicyError);
            expect((error as Error).message).toMatch(/^policy is invalid: targets\[0\]/);
          }
        },
      ),
    );
  });
});

describe('tunnelBounds', () => {
  it('opens for five minutes and caps tunnels at what is left after that, at most an hour', () => {
    expect(tunnelBounds(NOW, NOW + 30 * MINUTE)).toEqual({
      openUntil: NOW + 5 * MINUTE,
      maxTunnelSeconds: 25 * 60,
    });
    expect(tunnelBounds(NOW, NOW + 240 * MINUTE)?.maxTunnelSeconds).toBe(3600);
    expect(tunnelBounds(NOW, NOW + 1000)).toBeUndefined();
    expect(tunnelBounds(NOW, NOW - 1)).toBeUndefined();
  });

  it('never lets a tunnel opened while the grant opens them outlive the window (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000, max: 48 * 60 * MINUTE }), (left) => {
        const bounds = tunnelBounds(NOW, NOW + left);
        if (!bounds) return;
        expect(bounds.openUntil).toBeGreaterThan(NOW);
        expect(bounds.maxTunnelSeconds).toBeGreaterThanOrEqual(1);
        expect(bounds.maxTunnelSeconds).toBeLessThanOrEqual(EICE_MAX_TUNNEL_SECONDS);
        expect(Number.isInteger(bounds.maxTunnelSeconds)).toBe(true);
        expect(bounds.openUntil + bounds.maxTunnelSeconds * 1000).toBeLessThanOrEqual(NOW + left);
      }),
    );
  });
});

describe('buildEiceSessionPolicy', () => {
  const input = (overrides: Partial<EiceSessionPolicyInput> = {}): EiceSessionPolicyInput => ({
    scope: { partition: 'aws', region: 'eu-west-1', accountId: '123456789012' },
    endpointId: 'eice-0123456789abcdef0',
    instanceId: 'i-0123456789abcdef0',
    privateIpAddress: '10.0.1.5',
    remotePort: 22,
    osUser: 'ec2-user',
    sourceCidr: '203.0.113.7/32',
    notAfter: NOW + 30 * MINUTE,
    bounds: { openUntil: NOW + 5 * MINUTE, maxTunnelSeconds: 1500 },
    ...overrides,
  });

  it.each([
    [{ sourceCidr: '203.0.113.0/24' }, 'source address (not one host)'],
    [{ privateIpAddress: 'db.internal' }, 'private address'],
    [{ remotePort: 0 }, 'remote port'],
    [{ endpointId: 'eice-*' }, 'endpoint id'],
    [{ instanceId: 'i-*' }, 'instance id'],
    [{ osUser: 'root;x' }, 'OS user'],
    [{ bounds: { openUntil: NOW + 5 * MINUTE, maxTunnelSeconds: 1501 } }, 'tunnel bounds'],
    [{ bounds: { openUntil: NOW, maxTunnelSeconds: 3601 } }, 'tunnel bounds'],
    [{ scope: { partition: 'aws', region: 'eu-west-1', accountId: '*' } }, 'account'],
  ])('refuses to build a grant from %o', (overrides, what) => {
    expect(() => buildEiceSessionPolicy(input(overrides))).toThrow(
      `refusing to build an eice grant: invalid ${what}`,
    );
  });

  it('pins IPv6 addresses as one host too', () => {
    const policy = buildEiceSessionPolicy(
      input({ privateIpAddress: '2001:db8::5', sourceCidr: '2001:db8::7/128' }),
    );
    expect(policy.Statement[0]?.Condition.IpAddress).toEqual({
      'ec2-instance-connect:privateIpAddress': '2001:db8::5/128',
      'aws:SourceIp': '2001:db8::7/128',
    });
  });
});

describe('eiceCommands', () => {
  it('passes the endpoint, its DNS name and the address so the AWS CLI needs no Describe call', () => {
    const commands = eiceCommands(
      {
        region: 'eu-west-1',
        instanceId: 'i-0123456789abcdef0',
        endpointId: 'eice-0123456789abcdef0',
        endpointDns: 'eice-0123456789abcdef0.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com',
        privateIpAddress: '10.0.1.5',
        remotePort: 5432,
        sendSshPublicKey: false,
        maxTunnelSeconds: 1500,
        openUntil: new Date(NOW).toISOString(),
        localPort: 5432,
      },
      'file:///tmp/k.pub',
      15432,
    );
    expect(commands.portForward.slice(-4)).toEqual([
      '--max-tunnel-duration',
      '1500',
      '--local-port',
      '15432',
    ]);
    expect(commands).not.toHaveProperty('sendSshPublicKey');
  });
});
