import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmGrant } from '../../lib/aws/ssm-grant.ts';
import { ConfigError, GrantError } from '../../lib/domain/errors.ts';
import type { SessionPolicyDocument } from '../../lib/domain/session-policy.ts';
import { httpStatus } from '../../lib/http/error-status.ts';
import type { GrantRequest } from '../../lib/ports/credential-grant.ts';
import { makeSession } from '../support/sessions.ts';

const stsMock = mockClient(STSClient);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/drawbridge-prod-eu-west-1-ssm-session';
const SESSION_ID = 's-0123456789abcdefghjk';
const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);
const EXPIRES_AT = NOW + 30 * 60_000;
const INSTANCE = 'i-0123456789abcdef0';

const grant = () =>
  new SsmGrant({
    sts: new STSClient({ region: 'eu-west-1' }),
    roleArn: ROLE_ARN,
    region: 'eu-west-1',
    shellDocument: 'drawbridge-prod-shell',
  });

function request(overrides: Partial<GrantRequest> = {}): GrantRequest {
  return {
    session: makeSession({
      id: SESSION_ID,
      owner: 'https://idp.example.com/users/alice',
      mode: 'ssm',
      status: 'READY',
      sourceIp: '203.0.113.7',
      sourceCidr: '203.0.113.7/32',
      expiresAt: EXPIRES_AT,
      breakGlass: true,
    }),
    instanceId: INSTANCE,
    documents: ['drawbridge-prod-shell', 'AWS-StartPortForwardingSession'],
    notAfter: EXPIRES_AT,
    now: NOW,
    ...overrides,
  };
}

function stsError(name: string, fault: 'client' | 'server' = 'client'): STSServiceException {
  return new STSServiceException({
    name,
    $fault: fault,
    $metadata: {},
    message: `${name}: arn:aws:iam::123456789012:role/secret-ish detail`,
  });
}

beforeEach(() => {
  stsMock.reset();
});

describe('SsmGrant', () => {
  it('assumes the session role with exactly the scoped request', async () => {
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLEKEYID0001',
        SecretAccessKey: 'secret-access-key-value',
        SessionToken: 'session-token-value',
        Expiration: new Date(NOW + 1800_000),
      },
    });
    const issued = await grant().issue(request());

    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    const input = stsMock.commandCalls(AssumeRoleCommand)[0]?.args[0].input;
    if (!input) throw new Error('no AssumeRole');
    const { Policy, ...rest } = input;
    expect(rest).toEqual({
      RoleArn: ROLE_ARN,
      RoleSessionName: SESSION_ID,
      DurationSeconds: 1800,
      SourceIdentity: expect.stringMatching(
        /^https___idp\.example\.com_users_alice\.[0-9a-f]{11}$/,
      ),
      Tags: [
        { Key: 'drawbridge:session', Value: SESSION_ID },
        { Key: 'drawbridge:owner', Value: 'https://idp.example.com/users/alice' },
        { Key: 'drawbridge:break-glass', Value: 'true' },
      ],
      TransitiveTagKeys: ['drawbridge:session', 'drawbridge:owner', 'drawbridge:break-glass'],
    });

    const policy = JSON.parse(Policy ?? '') as SessionPolicyDocument;
    const starts = policy.Statement.filter((s) => s.Action === 'ssm:StartSession');
    const resources = starts.flatMap((s) =>
      Array.isArray(s.Resource) ? s.Resource : [s.Resource],
    );
    // one instance, and only the allowed documents
    expect(resources.filter((arn) => arn.includes(':instance/'))).toEqual([
      `arn:aws:ec2:eu-west-1:123456789012:instance/${INSTANCE}`,
    ]);
    expect(resources.filter((arn) => arn.includes(':document/'))).toEqual([
      'arn:aws:ssm:eu-west-1:123456789012:document/drawbridge-prod-shell',
      'arn:aws:ssm:eu-west-1::document/AWS-StartPortForwardingSession',
    ]);
    expect(resources).toHaveLength(3);
    for (const statement of starts) {
      expect(statement.Condition?.IpAddress).toEqual({ 'aws:SourceIp': '203.0.113.7/32' });
      expect(statement.Condition?.DateLessThan).toEqual({
        'aws:CurrentTime': new Date(EXPIRES_AT).toISOString(),
      });
    }
    expect(policy.Statement.flatMap((s) => s.Action)).toEqual([
      'ssm:StartSession',
      'ssm:StartSession',
      'ssm:ResumeSession',
      'ssm:TerminateSession',
    ]);

    expect(issued).toEqual({
      accessKeyId: 'ASIAEXAMPLEKEYID0001',
      secretAccessKey: 'secret-access-key-value',
      sessionToken: 'session-token-value',
      expiration: NOW + 1800_000,
      sourceIdentity: rest.SourceIdentity,
      durationSeconds: 1800,
    });
  });

  it('asks for 15 minutes when less is left, and at most an hour (role chaining) when more is', async () => {
    const g = grant();
    expect(g.assumeRoleInput(request({ notAfter: NOW + 4 * 60_000 })).DurationSeconds).toBe(900);
    expect(g.assumeRoleInput(request({ notAfter: NOW + 8 * 3_600_000 })).DurationSeconds).toBe(
      3600,
    );
  });

  it('turns a denial into a permanent GrantError that names the code and nothing else', async () => {
    stsMock.on(AssumeRoleCommand).rejects(stsError('AccessDenied'));
    const error = await grant()
      .issue(request())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrantError);
    expect((error as GrantError).permanent).toBe(true);
    expect(httpStatus(error as GrantError)).toBe(502);
    expect((error as GrantError).message).toBe(
      "STS refused this session's credentials (AccessDenied)",
    );
  });

  it('lets throttling and STS outages be retried', async () => {
    for (const [name, fault] of [
      ['Throttling', 'client'],
      ['InternalFailure', 'server'],
    ] as const) {
      stsMock.reset();
      stsMock.on(AssumeRoleCommand).rejects(stsError(name, fault));
      const error = await grant()
        .issue(request())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrantError);
      expect((error as GrantError).permanent, name).toBe(false);
    }
  });

  it('refuses an answer without credentials', async () => {
    stsMock.on(AssumeRoleCommand).resolves({});
    await expect(grant().issue(request())).rejects.toThrow('STS answered without credentials');
  });

  it('refuses to start with something that is not a role ARN', () => {
    expect(
      () =>
        new SsmGrant({
          sts: new STSClient({ region: 'eu-west-1' }),
          roleArn: 'arn:aws:iam::123456789012:user/alice',
          region: 'eu-west-1',
          shellDocument: 'x-shell',
        }),
    ).toThrow(ConfigError);
  });
});
