import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent } from '../domain/audit.ts';
import type { AuditLog } from '../ports/audit-log.ts';

/** Local log sink: one JSON line per audit event in the data directory, plus an optional echo. */
export class FileAuditLog implements AuditLog {
  private readonly file: string;
  private readonly echo: ((line: string) => void) | undefined;

  constructor(file: string, echo?: (line: string) => void) {
    this.file = file;
    this.echo = echo;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  }

  record(event: AuditEvent): void {
    const line = JSON.stringify({
      level: 'INFO',
      message: `audit ${event.type}`,
      correlation_id: event.sessionId,
      audit: event,
    });
    appendFileSync(this.file, `${line}\n`, { mode: 0o600 });
    this.echo?.(line);
  }
}
