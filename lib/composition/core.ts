import { readFileSync } from 'node:fs';
import type { AppDeps } from '../app/deps.ts';
import { dynamoDocumentClient } from '../aws/dynamodb-clients.ts';
import { DynamoDbSessionStore } from '../aws/dynamodb-session-store.ts';
import { LoggerAuditLog, logger } from '../aws/logger.ts';
import { type Config, loadConfig, type SettingName } from '../config.ts';
import { parsePolicyJson } from '../domain/policy.ts';
import { systemClock } from '../ports/clock.ts';

/**
 * What every function has: the policy, the table, the audit log, the clock and logs. Metrics
 * are added by the functions that emit some (lib/composition/metrics.ts: withMetrics).
 */
export type CoreDeps = Pick<AppDeps, 'policy' | 'store' | 'auditLog' | 'clock' | 'logger'>;

/** What an HTTP function also needs to read the caller's identity. */
export interface HttpDeps {
  /** the JWT claim that lists the caller's groups (a stage parameter) */
  groupsClaim: string;
}

export interface Composed<Required extends SettingName> extends CoreDeps, HttpDeps {
  config: Config<Required>;
}

/**
 * Config (read once; every setting in `required` must be set), the policy (validated), the
 * DynamoDB table and the loggers. Loads the DynamoDB client and nothing else of the SDK.
 */
export function composeCore<Required extends SettingName = never>(
  required: readonly Required[] = [],
): Composed<Required> {
  const config = loadConfig(required);
  // The package step validated the YAML and wrote it as JSON (serverless/validate-policy.cjs);
  // it is validated again here, without a YAML parser in the bundle.
  const policy = parsePolicyJson(readFileSync(config.policyFile, 'utf8'), config.policyFile);
  return {
    config,
    groupsClaim: config.groupsClaim,
    policy,
    store: new DynamoDbSessionStore({
      client: dynamoDocumentClient(),
      tableName: config.tableName,
      retentionDays: policy.retentionDays,
      clock: systemClock,
    }),
    auditLog: new LoggerAuditLog(logger),
    clock: systemClock,
    logger,
  };
}

export { logger };
