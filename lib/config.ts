import * as z from 'zod/mini';
import { ConfigError } from './domain/errors.ts';
import { safeParse } from './domain/validation.ts';

/** The settings some functions need; each function's composition names the ones it requires. */
export const SETTING_NAMES = [
  'PROVISION_QUEUE_URL',
  'LAUNCH_TEMPLATE_ID',
  'BASTION_LOG_GROUP',
  // ssm mode: where Session Manager streams shell sessions' output (the stage's preferences)
  'SSM_LOG_GROUP',
  'SCHEDULE_GROUP',
  'EXPIRE_FUNCTION_ARN',
  'SCHEDULER_ROLE_ARN',
  'SCHEDULER_DLQ_ARN',
  // the SNS topic for break-glass alerts and session notices; a stage may have none
  'ALERT_TOPIC_ARN',
  // ssm mode: the role whose sessions are the grants, the stage's shell Session document, and
  // the instance profile of fresh ssm bastions
  'SSM_SESSION_ROLE_ARN',
  'SSM_SHELL_DOCUMENT',
  'SSM_BASTION_INSTANCE_PROFILE_ARN',
  // eice mode: the role whose sessions are the tunnel grants
  'EICE_SESSION_ROLE_ARN',
  // set by Lambda; the region ssm credentials and commands are for
  'AWS_REGION',
  // the console: the OpenID Provider's issuer, whose origin its pages may fetch tokens from
  'OIDC_ISSUER',
  // what /.well-known/drawbridge publishes beside the issuer (lib/domain/sign-in-settings.ts)
  'OIDC_CLIENT_ID',
  'OIDC_CONSOLE_CLIENT_ID',
  'OIDC_AUDIENCE',
  'OIDC_SCOPES',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

const BaseSchema = z.lazy(() =>
  z.object({
    STAGE: z.string().check(z.regex(/^[a-z0-9-]{1,20}$/, 'lower-case letters, digits and dashes')),
    TABLE_NAME: z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name')),
    GROUPS_CLAIM: z._default(z.string().check(z.regex(/^[A-Za-z0-9_:/.-]{1,128}$/)), 'groups'),
    // the JSON serverless/validate-policy.cjs writes from policy/drawbridge.policy.yaml
    POLICY_FILE: z._default(
      z.string().check(z.minLength(1)),
      '.build/policy/drawbridge.policy.json',
    ),
    LAMBDA_TASK_ROOT: z.optional(z.string().check(z.minLength(1))),
  }),
);

export interface Config<Required extends SettingName = never> {
  stage: string;
  tableName: string;
  groupsClaim: string;
  policyFile: string;
  /** the settings the function required (always present) and any others that are set */
  settings: Record<Required, string> & Partial<Record<SettingName, string>>;
}

export type Environment = Record<string, string | undefined>;

const fail = (env: Environment, name: string, problem?: string): never => {
  const value = env[name];
  throw new ConfigError(
    `environment variable ${name} is ${value === undefined || value === '' ? 'missing' : `invalid: ${problem}`}`,
  );
};

/**
 * Reads the environment once, at a function's cold start. Every variable the function names
 * in `required` must be set and non-empty: a missing one fails here, naming itself, and is
 * never replaced by an empty string or a guess.
 */
export function loadConfig<Required extends SettingName = never>(
  required: readonly Required[] = [],
  env: Environment = process.env,
): Config<Required> {
  const base = safeParse(BaseSchema, env);
  if (!base.success) {
    const issue = base.error.issues[0];
    return fail(env, String(issue?.path[0] ?? 'environment'), issue?.message);
  }
  const settings: Partial<Record<SettingName, string>> = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value === undefined || value === '') {
      if ((required as readonly SettingName[]).includes(name)) fail(env, name);
      continue;
    }
    settings[name] = value;
  }
  const { STAGE, TABLE_NAME, GROUPS_CLAIM, POLICY_FILE, LAMBDA_TASK_ROOT } = base.data;
  return {
    stage: STAGE,
    tableName: TABLE_NAME,
    groupsClaim: GROUPS_CLAIM,
    policyFile:
      LAMBDA_TASK_ROOT && !POLICY_FILE.startsWith('/')
        ? `${LAMBDA_TASK_ROOT}/${POLICY_FILE}`
        : POLICY_FILE,
    settings: settings as Config<Required>['settings'],
  };
}
