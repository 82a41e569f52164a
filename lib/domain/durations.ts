import { ValidationError } from './errors.ts';

const DURATION_PATTERN = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?$/;

/** Parses `30m`, `1h`, `1h30m` or a bare number of minutes into minutes. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d{1,5}$/.test(trimmed)) return Number(trimmed);
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match || trimmed === '' || (match[1] === undefined && match[2] === undefined)) {
    throw new ValidationError(
      `'${text.slice(0, 20)}' is not a duration; use forms like 30m, 2h or 1h30m`,
    );
  }
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

export function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest}m`;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}

/** OpenSSH `expiry-time` value: YYYYMMDDHHMMSSZ in UTC. */
export function sshExpiryTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString(); // 2026-11-24T06:49:01.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}
