import type { AuditEvent } from '../domain/audit.ts';

/** Mirrors audit events to the log sink (CloudWatch Logs as structured JSON, or a local file). */
export interface AuditLog {
  record(event: AuditEvent): void;
}
