import { readFileSync } from 'node:fs';
import type { AppDeps } from './app/deps.ts';
import { clients } from './aws/clients.ts';
import { DynamoDbSessionStore } from './aws/dynamodb-session-store.ts';
import { Ec2Provider } from './aws/ec2-provider.ts';
import { EventBridgeExpiryScheduler } from './aws/eventbridge-expiry-scheduler.ts';
import { LoggerAuditLog, logger } from './aws/logger.ts';
import { SqsProvisionQueue } from './aws/sqs-provision-queue.ts';
import { type Config, loadConfig, setting } from './config.ts';
import { type Policy, parsePolicy } from './domain/policy.ts';
import type { HttpHandlerOptions } from './http/http-handler.ts';
import { systemClock } from './ports/clock.ts';
import type { ExpiryScheduler } from './ports/expiry-scheduler.ts';
import type { ProvisionQueue } from './ports/provision-queue.ts';

/**
 * The one composition root for the Lambda functions: config and policy read once per cold
 * start, SDK clients built once, adapters built on first use (so a function that never
 * launches never builds an EC2 provider). Local mode and tests install their own
 * dependencies with `useAppDeps` and run the very same handlers.
 */
let config: Config | undefined;
let deps: AppDeps | undefined;

function currentConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

function loadPolicy(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), file);
}

const unconfigured = (name: string) => () => {
  throw new Error(`${name} is not configured for this function`);
};

function awsDeps(): AppDeps {
  const cfg = currentConfig();
  const policy = loadPolicy(cfg.policyFile);
  const has = (name: keyof Config['optional']) => cfg.optional[name] !== undefined;
  const scheduler: ExpiryScheduler = has('SCHEDULE_GROUP')
    ? new EventBridgeExpiryScheduler({
        scheduler: clients.scheduler(),
        groupName: setting(cfg, 'SCHEDULE_GROUP'),
        targetArn: setting(cfg, 'EXPIRE_FUNCTION_ARN'),
        roleArn: setting(cfg, 'SCHEDULER_ROLE_ARN'),
        deadLetterArn: setting(cfg, 'SCHEDULER_DLQ_ARN'),
      })
    : {
        schedule: unconfigured('the expiry scheduler'),
        cancel: unconfigured('the expiry scheduler'),
      };
  const queue: ProvisionQueue = has('PROVISION_QUEUE_URL')
    ? new SqsProvisionQueue({ sqs: clients.sqs(), queueUrl: setting(cfg, 'PROVISION_QUEUE_URL') })
    : { enqueue: unconfigured('the provision queue') };
  return {
    policy,
    store: new DynamoDbSessionStore({
      client: clients.dynamoDocument(),
      tableName: cfg.tableName,
      retentionDays: policy.retentionDays,
      clock: systemClock,
    }),
    providers: {
      ec2: new Ec2Provider({
        ec2: clients.ec2(),
        stage: cfg.stage,
        launchTemplateId: cfg.optional.LAUNCH_TEMPLATE_ID ?? '',
        logGroupName: cfg.optional.BASTION_LOG_GROUP ?? `/drawbridge/${cfg.stage}/sessions`,
      }),
    },
    scheduler,
    queue,
    auditLog: new LoggerAuditLog(logger),
    clock: systemClock,
    logger,
  };
}

export function appDeps(): AppDeps {
  deps ??= awsDeps();
  return deps;
}

let groupsClaim: string | undefined;

/** Local mode and tests: run the same handlers over other adapters. */
export function useAppDeps(replacement: AppDeps, claim = 'groups'): void {
  deps = replacement;
  groupsClaim = claim;
}

export const httpOptions: HttpHandlerOptions = {
  groupsClaim: () => {
    groupsClaim ??= currentConfig().groupsClaim;
    return groupsClaim;
  },
  logger,
};

export { logger };
