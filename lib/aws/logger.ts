import { Logger } from '@aws-lambda-powertools/logger';
import type { AuditEvent } from '../domain/audit.ts';
import type { AuditLog } from '../ports/audit-log.ts';

/** One structured JSON logger per process (service name from POWERTOOLS_SERVICE_NAME). */
export const logger = new Logger({ serviceName: 'drawbridge' });

/**
 * Mirrors every audit event to CloudWatch Logs as structured JSON, with the session id as
 * correlation id, so Logs Insights can follow one session across every function.
 */
export class LoggerAuditLog implements AuditLog {
  private readonly logger: Logger;
  constructor(target: Logger = logger) {
    this.logger = target;
  }
  record(event: AuditEvent): void {
    this.logger.info(`audit ${event.type}`, { correlation_id: event.sessionId, audit: event });
  }
}
