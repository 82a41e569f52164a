import * as z from 'zod';
import { ConfigError } from './domain/errors.ts';

const optional = z.string().min(1).optional();

const EnvSchema = z.object({
  STAGE: z.string().regex(/^[a-z0-9-]{1,20}$/, 'lower-case letters, digits and dashes'),
  TABLE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name'),
  GROUPS_CLAIM: z
    .string()
    .regex(/^[A-Za-z0-9_:/.-]{1,128}$/)
    .default('groups'),
  POLICY_FILE: z.string().min(1).default('policy/drawbridge.policy.yaml'),
  LAMBDA_TASK_ROOT: optional,
  PROVISION_QUEUE_URL: optional,
  LAUNCH_TEMPLATE_ID: optional,
  BASTION_LOG_GROUP: optional,
  SCHEDULE_GROUP: optional,
  EXPIRE_FUNCTION_ARN: optional,
  SCHEDULER_ROLE_ARN: optional,
  SCHEDULER_DLQ_ARN: optional,
  /** the SNS topic for break-glass alerts and session notices */
  ALERT_TOPIC_ARN: optional,
  /** ssm mode: the role whose sessions are the grants, and the stage's shell Session document */
  SSM_SESSION_ROLE_ARN: optional,
  SSM_SHELL_DOCUMENT: optional,
  /** ssm mode: the instance profile of fresh ssm bastions */
  SSM_BASTION_INSTANCE_PROFILE_ARN: optional,
  /** set by Lambda; the region ssm credentials and commands are for */
  AWS_REGION: optional,
});
export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  stage: string;
  tableName: string;
  groupsClaim: string;
  policyFile: string;
  /** settings only some functions need; read with `setting()` so a missing one names itself */
  optional: Omit<Env, 'STAGE' | 'TABLE_NAME' | 'GROUPS_CLAIM' | 'POLICY_FILE' | 'LAMBDA_TASK_ROOT'>;
}

/** Reads the environment once. Fails with the variable's name when one is missing or malformed. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(
      `environment variable ${name} is ${env[name] === undefined ? 'missing' : `invalid: ${issue?.message}`}`,
    );
  }
  const { STAGE, TABLE_NAME, GROUPS_CLAIM, POLICY_FILE, LAMBDA_TASK_ROOT, ...rest } = result.data;
  return {
    stage: STAGE,
    tableName: TABLE_NAME,
    groupsClaim: GROUPS_CLAIM,
    policyFile:
      LAMBDA_TASK_ROOT && !POLICY_FILE.startsWith('/')
        ? `${LAMBDA_TASK_ROOT}/${POLICY_FILE}`
        : POLICY_FILE,
    optional: rest,
  };
}

export function setting(config: Config, name: keyof Config['optional']): string {
  const value = config.optional[name];
  if (value === undefined) throw new ConfigError(`environment variable ${name} is missing`);
  return value;
}
