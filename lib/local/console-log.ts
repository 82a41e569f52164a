import type { Logger } from '../ports/logger.ts';

/**
 * What `npm start` prints while it runs. On a terminal: one readable line per thing that
 * happened, local time first. Piped, or with DRAWBRIDGE_LOG_FORMAT=json: one JSON object per
 * line, ISO times, for a log shipper. Either way a notification is logged at its own
 * severity (not as a warning) and an audit event with its time, not an epoch number.
 */
export type LogFormat = 'pretty' | 'json';

export function logFormat(setting: string | undefined, isTTY: boolean): LogFormat {
  if (setting === 'json' || setting === 'pretty') return setting;
  return isTTY ? 'pretty' : 'json';
}

type Level = 'INFO' | 'WARN' | 'ERROR';
const SEVERITY_LEVEL: Record<string, Level> = { info: 'INFO', warning: 'WARN', critical: 'ERROR' };

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

// Whatever reaches the terminal comes from sessions (reasons, sshd lines): no escape sequences.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to neutralize them
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const printable = (text: string): string => text.replace(UNPRINTABLE, '?');

const clock = (at: Date): string => at.toTimeString().slice(0, 8);

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value, errorReplacer) ?? String(value);
}

export interface ConsoleLog {
  logger: Logger;
  /** for FileAuditLog's echo: the JSON line it wrote */
  audit: (line: string) => void;
}

export function consoleLog(
  format: LogFormat,
  write: (line: string) => void,
  now: () => Date = () => new Date(),
): ConsoleLog {
  const emit = (level: Level, message: string, fields: Record<string, unknown>): void => {
    const at = now();
    if (format === 'json') {
      write(JSON.stringify({ level, time: at.toISOString(), message, ...fields }, errorReplacer));
      return;
    }
    const session = typeof fields.correlation_id === 'string' ? ` ${fields.correlation_id}` : '';
    const { correlation_id: _id, ...rest } = fields;
    const text =
      message === 'sshd' && typeof rest.sshd === 'string'
        ? `sshd: ${rest.sshd}`
        : [
            message,
            ...Object.entries(rest).map(([key, value]) => `${key}=${describe(value)}`),
          ].join(' ');
    write(printable(`${clock(at)} ${level.padEnd(5)}${session} ${text}`.slice(0, 2000)));
  };

  const log =
    (level: Level) =>
    (message: string, ...attributes: Record<string, unknown>[]): void => {
      const fields: Record<string, unknown> = Object.assign({}, ...attributes);
      const notice = typeof fields.notification === 'string' ? fields.notification : undefined;
      const parsed = notice ? /^\[(\w+)\] (.*)$/s.exec(notice) : null;
      if (message === 'notification' && parsed) {
        // FileNotifier echoes `[severity] subject`: the severity is the level, not a warning.
        const severity = parsed[1] ?? 'info';
        emit(SEVERITY_LEVEL[severity] ?? level, 'notification', {
          severity,
          subject: parsed[2] ?? '',
        });
        return;
      }
      emit(level, message, fields);
    };

  const audit = (line: string): void => {
    let entry: { correlation_id?: unknown; audit?: Record<string, unknown> };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      write(printable(line));
      return;
    }
    const event = entry.audit ?? {};
    const at = typeof event.at === 'number' ? new Date(event.at) : now();
    if (format === 'json') {
      write(
        JSON.stringify({
          ...entry,
          time: at.toISOString(),
          audit: { ...event, at: at.toISOString() },
        }),
      );
      return;
    }
    const detail =
      event.detail && typeof event.detail === 'object'
        ? Object.entries(event.detail as Record<string, unknown>)
            .map(([key, value]) => `${key}=${describe(value)}`)
            .join(' ')
        : '';
    write(
      printable(
        `${clock(at)} AUDIT ${String(event.sessionId ?? entry.correlation_id ?? '')} ${String(event.type ?? '?')} -> ${String(event.status ?? '?')} by ${String(event.actor ?? '?')}${detail ? ` ${detail}` : ''}`.slice(
          0,
          2000,
        ),
      ),
    );
  };

  return { logger: { info: log('INFO'), warn: log('WARN'), error: log('ERROR') }, audit };
}
