import { formatMinutes } from '../lib/domain/durations.ts';

// Whatever the API says ends up on a terminal: control characters (escape sequences), line
// separators and bidirectional overrides in a reason or an error message must not be able
// to rewrite what the engineer sees.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to neutralize them
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function clean(text: string, max = 200): string {
  const printable = text.replace(UNPRINTABLE, '?');
  return printable.length > max ? `${printable.slice(0, Math.max(0, max - 1))}…` : printable;
}

/** Columns padded to their widest cell; the last column is left ragged so nothing trails. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/**
 * `in 14m`, `in 1m23s`, `3m ago`, `2h5m ago`: short, and the same in every time zone. Seconds
 * while they matter (under 10 minutes), and always rounded down: a countdown never promises
 * time that is not there.
 */
export function relativeTime(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '-';
  const seconds = Math.floor(Math.abs(at - now) / 1000);
  if (seconds === 0) return at >= now ? 'now' : 'just now';
  const text =
    seconds < 60
      ? `${seconds}s`
      : seconds < 600
        ? `${Math.floor(seconds / 60)}m${seconds % 60 ? `${seconds % 60}s` : ''}`
        : formatMinutes(Math.floor(seconds / 60));
  return at >= now ? `in ${text}` : `${text} ago`;
}

// One quoting for the API's lines and the CLI's: lib/domain/shell-quote.ts.
export { shellLine } from '../lib/domain/shell-quote.ts';

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
