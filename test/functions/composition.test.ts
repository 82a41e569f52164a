import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { composeGetRecording } from '../../functions/get-recording.ts';
import { composeGetSession } from '../../functions/get-session.ts';
import { composeIssueCredentials } from '../../functions/issue-credentials.ts';
import { composeListApprovals } from '../../functions/list-approvals.ts';
import { composeListReviews } from '../../functions/list-reviews.ts';
import { composeListSessions } from '../../functions/list-sessions.ts';
import { composeListTargets } from '../../functions/list-targets.ts';
import { composeReviewSession } from '../../functions/review-session.ts';
import { composeSessionEvents } from '../../functions/session-events.ts';
import { composeUsage } from '../../functions/usage.ts';
import { composeVerifyAudit } from '../../functions/verify-audit.ts';
import { composeActing } from '../../lib/composition/acting.ts';
import { composeRequest } from '../../lib/composition/request.ts';
import { SETTING_NAMES, type SettingName } from '../../lib/config.ts';
import { ConfigError } from '../../lib/domain/errors.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';

// What the package step writes (serverless/validate-policy.cjs): the shipped policy, validated, as JSON.
const POLICY = join(mkdtempSync(join(tmpdir(), 'drawbridge-composition-')), 'policy.json');
writeFileSync(
  POLICY,
  JSON.stringify(
    parsePolicy(
      readFileSync(join(import.meta.dirname, '../../policy/drawbridge.policy.yaml'), 'utf8'),
    ),
  ),
);

/** Every value serverless.yml gives every function. */
const FULL_ENV: Record<string, string> = {
  STAGE: 'dev',
  TABLE_NAME: 'drawbridge-dev',
  GROUPS_CLAIM: 'groups',
  POLICY_FILE: POLICY,
  AWS_REGION: 'eu-west-1',
  PROVISION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/drawbridge-dev-provision',
  LAUNCH_TEMPLATE_ID: 'lt-0123456789abcdef0',
  BASTION_LOG_GROUP: '/drawbridge/dev/sessions',
  SSM_LOG_GROUP: '/drawbridge/dev/ssm-sessions',
  SCHEDULE_GROUP: 'drawbridge-dev',
  EXPIRE_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:drawbridge-dev-expire',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/drawbridge-dev-scheduler',
  SCHEDULER_DLQ_ARN: 'arn:aws:sqs:eu-west-1:123456789012:drawbridge-dev-expiry-dlq',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:drawbridge-dev-alerts',
  SSM_SESSION_ROLE_ARN: 'arn:aws:iam::123456789012:role/drawbridge-dev-eu-west-1-ssm-session',
  SSM_SHELL_DOCUMENT: 'drawbridge-dev-shell',
  EICE_SESSION_ROLE_ARN: 'arn:aws:iam::123456789012:role/drawbridge-dev-eu-west-1-eice-session',
  SSM_BASTION_INSTANCE_PROFILE_ARN:
    'arn:aws:iam::123456789012:instance-profile/drawbridge-dev-ssm-bastion',
};

const ACTING: SettingName[] = [
  'LAUNCH_TEMPLATE_ID',
  'BASTION_LOG_GROUP',
  'SSM_SESSION_ROLE_ARN',
  'SSM_BASTION_INSTANCE_PROFILE_ARN',
  'SCHEDULE_GROUP',
  'EXPIRE_FUNCTION_ARN',
  'SCHEDULER_ROLE_ARN',
  'SCHEDULER_DLQ_ARN',
  'PROVISION_QUEUE_URL',
];

/** Each function's composition and the settings it must refuse to start without. */
const FUNCTIONS: [string, () => unknown, SettingName[]][] = [
  ['getSession', composeGetSession, []],
  ['listSessions', composeListSessions, []],
  ['listApprovals', composeListApprovals, []],
  ['listReviews', composeListReviews, []],
  ['reviewSession', composeReviewSession, []],
  ['verifyAudit', composeVerifyAudit, ['BASTION_LOG_GROUP']],
  ['getRecording', composeGetRecording, ['BASTION_LOG_GROUP', 'SSM_LOG_GROUP']],
  ['usage', composeUsage, []],
  ['listTargets', composeListTargets, []],
  ['sessionEvents', composeSessionEvents, ['BASTION_LOG_GROUP']],
  [
    'issueCredentials',
    composeIssueCredentials,
    ['SSM_SESSION_ROLE_ARN', 'SSM_SHELL_DOCUMENT', 'EICE_SESSION_ROLE_ARN', 'AWS_REGION'],
  ],
  ['requestSession, approveSession, denySession', composeRequest, ['PROVISION_QUEUE_URL']],
  ['provision, expire, reap, endSession, extendSession, onInstanceState', composeActing, ACTING],
];

beforeEach(() => {
  for (const [name, value] of Object.entries(FULL_ENV)) vi.stubEnv(name, value);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const configError = (compose: () => unknown): ConfigError => {
  try {
    compose();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('composed without the setting');
};

describe.each(FUNCTIONS)('%s', (_name, compose, required) => {
  it('composes with the environment serverless.yml gives it', () => {
    expect(compose()).toMatchObject({ groupsClaim: 'groups' });
  });

  it.each(['STAGE', 'TABLE_NAME', ...required])(
    'refuses to start without %s, naming it (never an empty string or a guess)',
    (name) => {
      vi.stubEnv(name, undefined);
      expect(configError(compose).message).toBe(`environment variable ${name} is missing`);
      vi.stubEnv(name, '');
      expect(configError(compose).message).toBe(`environment variable ${name} is missing`);
    },
  );

  it('needs nothing it does not use', () => {
    for (const name of SETTING_NAMES.filter((setting) => !required.includes(setting))) {
      vi.stubEnv(name, undefined);
    }
    expect(() => compose()).not.toThrow();
  });
});

it('a stage without an alerts topic composes with no notifier (the one optional setting)', () => {
  vi.stubEnv('ALERT_TOPIC_ARN', undefined);
  expect(composeActing()).not.toHaveProperty('notifier');
  expect(composeRequest()).not.toHaveProperty('notifier');
});

it('a deployed handler missing a setting answers 500 that reveals nothing, and logs the name', async () => {
  const { handler } = await import('../../functions/session-events.ts');
  const { logger } = await import('../../lib/composition/core.ts');
  const { httpEvent, lambdaContext } = await import('../support/events.ts');
  const logged = vi.spyOn(logger, 'error').mockImplementation(() => {});
  vi.stubEnv('BASTION_LOG_GROUP', undefined);
  const result = await handler(httpEvent('session-events'), lambdaContext);
  expect(result.statusCode).toBe(500);
  expect(result.body).not.toContain('BASTION_LOG_GROUP');
  const [, fields] = logged.mock.calls[0] ?? [];
  expect((fields as { error: Error }).error.message).toBe(
    'environment variable BASTION_LOG_GROUP is missing',
  );
  logged.mockRestore();
});
