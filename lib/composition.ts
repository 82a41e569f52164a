import type { AppDeps } from './app/deps.ts';
import { clients } from './aws/clients.ts';
import { Ec2Provider } from './aws/ec2-provider.ts';
import { EventBridgeExpiryScheduler } from './aws/eventbridge-expiry-scheduler.ts';
import { SqsProvisionQueue } from './aws/sqs-provision-queue.ts';
import { coreDeps, currentConfig, installedDeps } from './composition/core.ts';
import { alertNotifier } from './composition/notifier.ts';
import { ssmProvider } from './composition/ssm.ts';
import { type Config, setting } from './config.ts';
import type { ExpiryScheduler } from './ports/expiry-scheduler.ts';
import type { ProvisionQueue } from './ports/provision-queue.ts';

/**
 * The composition root for the functions that act on bastions: the core (config, policy,
 * table, audit log; lib/composition/core.ts) plus the providers, the expiry scheduler and
 * the provision queue, built once per cold start. Settings a function was not given fail
 * with the variable's name when first used, not at start.
 */
let deps: AppDeps | undefined;

const unconfigured = (name: string) => () => {
  throw new Error(`${name} is not configured for this function`);
};

function awsDeps(): AppDeps {
  const cfg = currentConfig();
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
  // Granted / expiring / ended notices and the alerts of the functions that act on sessions.
  const notifier = alertNotifier();
  const queue: ProvisionQueue = has('PROVISION_QUEUE_URL')
    ? new SqsProvisionQueue({ sqs: clients.sqs(), queueUrl: setting(cfg, 'PROVISION_QUEUE_URL') })
    : { enqueue: unconfigured('the provision queue') };
  const ec2 = new Ec2Provider({
    ec2: clients.ec2(),
    stage: cfg.stage,
    launchTemplateId: cfg.optional.LAUNCH_TEMPLATE_ID ?? '',
    logGroupName: cfg.optional.BASTION_LOG_GROUP ?? `/drawbridge/${cfg.stage}/sessions`,
  });
  return {
    ...coreDeps(),
    providers: { ec2, ssm: ssmProvider(cfg, ec2) },
    scheduler,
    queue,
    ...(notifier ? { notifier } : {}),
  };
}

export function appDeps(): AppDeps {
  const installed = installedDeps();
  if (installed) return installed;
  deps ??= awsDeps();
  return deps;
}

export { httpOptions, logger, useAppDeps } from './composition/core.ts';
