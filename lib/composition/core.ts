import { readFileSync } from 'node:fs';
import type { AppDeps } from '../app/deps.ts';
import { dynamoDocumentClient } from '../aws/dynamodb-clients.ts';
import { DynamoDbSessionStore } from '../aws/dynamodb-session-store.ts';
import { LoggerAuditLog, logger } from '../aws/logger.ts';
import { PowertoolsMetrics } from '../aws/powertools-metrics.ts';
import { type Config, loadConfig } from '../config.ts';
import { type Policy, parsePolicy } from '../domain/policy.ts';
import type { HttpHandlerOptions } from '../http/http-handler.ts';
import { systemClock } from '../ports/clock.ts';

/**
 * The composition root, part one: what every function needs (config, policy, the table,
 * the audit log). Read functions import only this, so their cold start never loads the EC2,
 * Scheduler or SQS clients; lib/composition.ts adds those for the functions that act.
 * Local mode and tests install their own dependencies with `useAppDeps`.
 */
export type CoreDeps = Pick<
  AppDeps,
  'policy' | 'store' | 'auditLog' | 'clock' | 'logger' | 'metrics'
>;

let config: Config | undefined;
let core: CoreDeps | undefined;
let installed: AppDeps | undefined;
let groupsClaim: string | undefined;

export function currentConfig(): Config {
  config ??= loadConfig(process.env);
  return config;
}

function loadPolicy(file: string): Policy {
  return parsePolicy(readFileSync(file, 'utf8'), file);
}

export function coreDeps(): CoreDeps {
  if (installed) return installed;
  core ??= buildCore();
  return core;
}

function buildCore(): CoreDeps {
  const cfg = currentConfig();
  const policy = loadPolicy(cfg.policyFile);
  return {
    policy,
    store: new DynamoDbSessionStore({
      client: dynamoDocumentClient(),
      tableName: cfg.tableName,
      retentionDays: policy.retentionDays,
      clock: systemClock,
    }),
    auditLog: new LoggerAuditLog(logger),
    clock: systemClock,
    logger,
    metrics: new PowertoolsMetrics({ stage: cfg.stage, logger }),
  };
}

/** Local mode and tests: run the same handlers over other adapters. */
export function useAppDeps(replacement: AppDeps, claim = 'groups'): void {
  installed = replacement;
  groupsClaim = claim;
}

export function installedDeps(): AppDeps | undefined {
  return installed;
}

export const httpOptions: HttpHandlerOptions = {
  groupsClaim: () => {
    groupsClaim ??= currentConfig().groupsClaim;
    return groupsClaim;
  },
  logger,
};

export { logger };
