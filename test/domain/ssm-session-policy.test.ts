import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DrawbridgeError, PolicyError } from '../../lib/domain/errors.ts';
import { hostCidr } from '../../lib/domain/network.ts';
import { type Target, validatePolicy } from '../../lib/domain/policy.ts';
import { newSessionId } from '../../lib/domain/session.ts';
import {
  type GrantScope,
  MAX_SESSION_POLICY_CHARS,
  parseRoleArn,
  type SessionPolicyDocument,
  serializeSessionPolicy,
} from '../../lib/domain/session-policy.ts';
import {
  assumedRoleArn,
  buildSessionPolicy,
  documentArn,
  documentNamesFor,
  instanceArn,
  ssmCommands,
  ssmTargetRef,
} from '../../lib/domain/ssm-session-policy.ts';

const SCOPE: GrantScope = { partition: 'aws', region: 'eu-west-1', accountId: '123456789012' };
const SESSION_ID = 's-0123456789abcdefghjk';
const NOT_AFTER = Date.UTC(2026, 10, 24, 10, 30, 0);
const SHELL = 'drawbridge-prod-shell';

function ssmTarget(ssm: Record<string, unknown>, extra: Record<string, unknown> = {}): Target {
  const policy = validatePolicy({
    version: 1,
    adminGroup: 'admins',
    quota: { activeSessionsPerUser: 2 },
    targets: [
      {
        name: 'app',
        mode: 'ssm',
        host: '10.0.3.4',
        port: 5432,
        allowedGroups: ['dev'],
        defaultDurationMinutes: 30,
        maxDurationMinutes: 120,
        ssm,
        ...extra,
      },
    ],
  });
  const [target] = policy.targets;
  if (!target) throw new Error('no target');
  return target;
}

type Statement = SessionPolicyDocument['Statement'][number];
const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
const startStatements = (policy: SessionPolicyDocument): Statement[] =>
  policy.Statement.filter((statement) => asList(statement.Action).includes('ssm:StartSession'));

describe('the session policy', () => {
  const policy = buildSessionPolicy({
    scope: SCOPE,
    sessionId: SESSION_ID,
    instanceId: 'i-0123456789abcdef0',
    documents: [SHELL, 'AWS-StartPortForwardingSession'],
    sourceCidr: '203.0.113.7/32',
    notAfter: NOT_AFTER,
  });

  it('allows StartSession on that one instance and the allowed documents, and nothing else', () => {
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'StartOnTheTarget',
          Effect: 'Allow',
          Action: 'ssm:StartSession',
          Resource: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0',
          Condition: {
            IpAddress: { 'aws:SourceIp': '203.0.113.7/32' },
            DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:30:00.000Z' },
            Bool: { 'ssm:SessionDocumentAccessCheck': 'true' },
          },
        },
        {
          Sid: 'AllowedDocuments',
          Effect: 'Allow',
          Action: 'ssm:StartSession',
          Resource: [
            'arn:aws:ssm:eu-west-1:123456789012:document/drawbridge-prod-shell',
            'arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSession',
          ],
          Condition: {
            IpAddress: { 'aws:SourceIp': '203.0.113.7/32' },
            DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:30:00.000Z' },
          },
        },
        {
          Sid: 'ResumeOwnSessions',
          Effect: 'Allow',
          Action: 'ssm:ResumeSession',
          Resource: `arn:aws:ssm:eu-west-1:123456789012:session/${SESSION_ID}-*`,
          Condition: {
            IpAddress: { 'aws:SourceIp': '203.0.113.7/32' },
            DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:30:00.000Z' },
          },
        },
        {
          Sid: 'EndOwnSessions',
          Effect: 'Allow',
          Action: 'ssm:TerminateSession',
          Resource: `arn:aws:ssm:eu-west-1:123456789012:session/${SESSION_ID}-*`,
        },
      ],
    });
    expect(serializeSessionPolicy(policy).length).toBeLessThan(MAX_SESSION_POLICY_CHARS);
  });

  it('names hybrid nodes in the ssm namespace and AWS documents without an account', () => {
    expect(instanceArn(SCOPE, 'mi-0123456789abcdef0')).toBe(
      'arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0',
    );
    expect(documentArn({ ...SCOPE, partition: 'aws-cn' }, 'AWS-StartSSHSession')).toBe(
      'arn:aws-cn:ssm:eu-west-1::document/AWS-StartSSHSession',
    );
  });

  it('refuses a network range, a bad instance id, no documents, or a policy STS would refuse', () => {
    const base = {
      scope: SCOPE,
      sessionId: SESSION_ID,
      instanceId: 'i-0123456789abcdef0',
      documents: [SHELL],
      sourceCidr: '203.0.113.7/32',
      notAfter: NOT_AFTER,
    };
    expect(() => buildSessionPolicy({ ...base, sourceCidr: '203.0.113.0/24' })).toThrow(
      DrawbridgeError,
    );
    expect(() => buildSessionPolicy({ ...base, sourceCidr: 'anywhere' })).toThrow(/source/);
    expect(() => buildSessionPolicy({ ...base, instanceId: 'i-*' })).toThrow(/instance id/);
    expect(() => buildSessionPolicy({ ...base, documents: [] })).toThrow(/document/);
    expect(() => buildSessionPolicy({ ...base, documents: ['*'] })).toThrow(/document name/);
    expect(() => buildSessionPolicy({ ...base, notAfter: Number.NaN })).toThrow(/window/);
    expect(() => buildSessionPolicy({ ...base, scope: { ...SCOPE, accountId: '*' } })).toThrow(
      /account/,
    );
    const huge = buildSessionPolicy(base);
    huge.Statement.push(...Array.from({ length: 20 }, () => huge.Statement[0] as Statement));
    expect(() => serializeSessionPolicy(huge)).toThrow(/2048/);
  });

  const documentNames = fc.uniqueArray(
    fc.oneof(
      fc.constantFrom(
        'AWS-StartSSHSession',
        'AWS-StartPortForwardingSession',
        'AWS-StartPortForwardingSessionToRemoteHost',
      ),
      fc.stringMatching(/^[A-Za-z0-9_.-]{3,60}$/),
    ),
    { minLength: 1, maxLength: 4 },
  );
  const address = fc.oneof(fc.ipV4(), fc.ipV6());
  const instance = fc.oneof(
    fc.stringMatching(/^i-[0-9a-f]{17}$/),
    fc.stringMatching(/^i-[0-9a-f]{8}$/),
    fc.stringMatching(/^mi-[0-9a-f]{17}$/),
  );
  const moment = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2100, 0, 1) });

  it('always: one instance, the caller address and the window end on every start, only the given documents, within 2048 characters (property)', () => {
    fc.assert(
      fc.property(address, instance, documentNames, moment, (ip, instanceId, documents, at) => {
        const sessionId = newSessionId();
        const sourceCidr = hostCidr(ip);
        const built = buildSessionPolicy({
          scope: SCOPE,
          sessionId,
          instanceId,
          documents,
          sourceCidr,
          notAfter: at,
        });
        const text = serializeSessionPolicy(built);
        expect(text.length).toBeLessThanOrEqual(MAX_SESSION_POLICY_CHARS);
        const parsed = JSON.parse(text) as SessionPolicyDocument;
        const starts = startStatements(parsed);
        const resources = starts.flatMap((statement) => asList(statement.Resource));
        const instances = resources.filter((arn) => /:(instance|managed-instance)\//.test(arn));
        expect(instances).toEqual([instanceArn(SCOPE, instanceId)]);
        expect(resources.filter((arn) => arn.includes(':document/')).sort()).toEqual(
          documents.map((name) => documentArn(SCOPE, name)).sort(),
        );
        for (const statement of starts) {
          expect(statement.Condition?.IpAddress).toEqual({ 'aws:SourceIp': sourceCidr });
          expect(statement.Condition?.DateLessThan).toEqual({
            'aws:CurrentTime': new Date(at).toISOString(),
          });
        }
        for (const statement of parsed.Statement) {
          expect(statement.Effect).toBe('Allow');
          for (const action of asList(statement.Action)) {
            expect(['ssm:StartSession', 'ssm:ResumeSession', 'ssm:TerminateSession']).toContain(
              action,
            );
          }
          for (const arn of asList(statement.Resource)) {
            // The only wildcard is the suffix Session Manager adds to this grant's session ids.
            if (arn.includes('*')) expect(arn.endsWith(`:session/${sessionId}-*`)).toBe(true);
          }
        }
      }),
    );
  });
});

describe('the session role', () => {
  it('names the assumed role Session Manager and CloudTrail will show', () => {
    const role = 'arn:aws:iam::123456789012:role/drawbridge/drawbridge-prod-eu-west-1-ssm-session';
    expect(parseRoleArn(role)).toEqual({
      partition: 'aws',
      accountId: '123456789012',
      roleName: 'drawbridge-prod-eu-west-1-ssm-session',
    });
    expect(assumedRoleArn(role, SESSION_ID)).toBe(
      `arn:aws:sts::123456789012:assumed-role/drawbridge-prod-eu-west-1-ssm-session/${SESSION_ID}`,
    );
    expect(() => parseRoleArn('arn:aws:iam::123456789012:user/alice')).toThrow(DrawbridgeError);
  });
});

describe('documents and commands', () => {
  it('maps shell to the stage document and port-forwarding to the instance or, from a bastion, to the target', () => {
    const existing = ssmTarget({
      instanceId: 'i-0123456789abcdef0',
      documents: ['shell', 'ssh', 'port-forwarding'],
    });
    expect(documentNamesFor(existing, SHELL)).toEqual({
      shell: SHELL,
      ssh: 'AWS-StartSSHSession',
      'port-forwarding': 'AWS-StartPortForwardingSession',
    });
    const fresh = ssmTarget(
      { fresh: true },
      { network: { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'] } },
    );
    expect(documentNamesFor(fresh, SHELL)).toEqual({
      'port-forwarding': 'AWS-StartPortForwardingSessionToRemoteHost',
    });
    expect(ssmTargetRef(fresh)).toEqual({ kind: 'fresh' });
  });

  it('builds the start-session argument vectors', () => {
    const connect = {
      instanceId: 'i-0123456789abcdef0',
      region: 'eu-west-1',
      documents: { shell: SHELL, 'port-forwarding': 'AWS-StartPortForwardingSessionToRemoteHost' },
      target: { host: '10.0.3.4', port: 5432 },
      viaBastion: true,
      localPort: 5432,
    };
    expect(ssmCommands(connect)).toEqual({
      shell: [
        'aws',
        'ssm',
        'start-session',
        '--region',
        'eu-west-1',
        '--target',
        'i-0123456789abcdef0',
        '--document-name',
        SHELL,
      ],
      portForward: [
        'aws',
        'ssm',
        'start-session',
        '--region',
        'eu-west-1',
        '--target',
        'i-0123456789abcdef0',
        '--document-name',
        'AWS-StartPortForwardingSessionToRemoteHost',
        '--parameters',
        'host=10.0.3.4,portNumber=5432,localPortNumber=5432',
      ],
    });
  });
});

describe('the ssm block of a policy target', () => {
  const problem = (ssm: unknown, extra: Record<string, unknown> = {}): string => {
    try {
      ssmTarget(ssm as Record<string, unknown>, extra);
      return 'valid';
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      return (error as Error).message;
    }
  };

  it('names exactly one instance source and defaults to port forwarding only', () => {
    expect(ssmTarget({ instanceId: 'i-0123456789abcdef0' }).ssm?.documents).toEqual([
      'port-forwarding',
    ]);
    expect(problem({})).toContain('targets[0].ssm: must name exactly one of');
    expect(problem({ instanceId: 'i-0123456789abcdef0', fresh: true })).toContain('exactly one');
    expect(problem({ instanceTags: {} })).toContain('names at least one tag');
    expect(problem({ instanceTags: { 'aws:cloudformation:stack-name': 'x' } })).toContain(
      'must not start with aws:',
    );
    expect(problem({ instanceId: 'i-*' })).toContain('an instance id like');
    expect(problem({ instanceId: 'i-0123456789abcdef0', documents: ['shell', 'shell'] })).toContain(
      'lists a document twice',
    );
    expect(problem({ instanceId: 'i-0123456789abcdef0', documents: ['run-command'] })).toContain(
      'targets[0].ssm.documents[0]',
    );
    expect(problem({ fresh: false })).not.toBe('valid');
  });

  it('needs the block for mode ssm, refuses it elsewhere, and keeps ec2-only fields to fresh bastions', () => {
    const network = { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'] };
    expect(problem(undefined)).toContain('targets[0].ssm: is required for mode ssm');
    expect(problem({ instanceId: 'i-0123456789abcdef0' }, { network })).toContain(
      'targets[0].network: is only for a fresh bastion',
    );
    expect(problem({ fresh: true })).toContain(
      'targets[0].network: is required for a fresh ssm bastion',
    );
    expect(problem({ fresh: true }, { network, host: 'db.internal' })).toContain(
      'targets[0].host: must be an IP address for a fresh ssm bastion',
    );
    expect(problem({ fresh: true }, { network })).toBe('valid');
    expect(problem({ instanceId: 'i-0123456789abcdef0' }, { mode: 'ec2', network })).toContain(
      'targets[0].ssm: is only for mode ssm',
    );
  });

  it('either refuses an ssm block with a PolicyError naming a field, or yields one instance source (property)', () => {
    const block = fc.record(
      {
        instanceId: fc.oneof(fc.stringMatching(/^i-[0-9a-f]{8,17}$/), fc.string()),
        instanceTags: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), {
          maxKeys: 12,
        }),
        fresh: fc.oneof(fc.constant(true), fc.boolean(), fc.string()),
        documents: fc.array(fc.constantFrom('shell', 'ssh', 'port-forwarding', 'bogus'), {
          maxLength: 4,
        }),
      },
      { requiredKeys: [] },
    );
    const network = { vpcId: 'vpc-0abc1234', subnetIds: ['subnet-0abc1234'] };
    fc.assert(
      fc.property(block, fc.boolean(), (ssm, withNetwork) => {
        let target: Target;
        try {
          target = ssmTarget(ssm, withNetwork ? { network } : {});
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
          expect((error as Error).message).toMatch(/targets\[0\]/);
          return;
        }
        const ref = ssmTargetRef(target);
        const sources = [ssm.instanceId, ssm.instanceTags, ssm.fresh].filter(
          (v) => v !== undefined,
        );
        expect(sources).toHaveLength(1);
        expect(ref.kind === 'fresh').toBe(withNetwork);
        expect(Object.keys(documentNamesFor(target, SHELL)).length).toBeGreaterThan(0);
      }),
    );
  });
});
