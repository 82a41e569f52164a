import { formatMinutes } from '../lib/domain/durations.ts';

/**
 * The API names the fields of its JSON body; the person at the terminal typed flags. A 400
 * is rewritten into the flags of the command that sent it, so `body: reason: must say why`
 * reads `--reason: must say why` and `durationMinutes 120 exceeds …` reads `--for 2h exceeds …`.
 */
export type FieldFlags = Readonly<Record<string, string>>;

/** POST /sessions, as `drawbridge open` fills it */
export const OPEN_FLAGS: FieldFlags = {
  target: '<target>',
  durationMinutes: '--for',
  reason: '--reason',
  publicKey: '--key',
  breakGlass: '--break-glass',
  incidentId: '--incident',
};

export const EXTEND_FLAGS: FieldFlags = { byMinutes: '--by', reason: '--reason' };
export const DECISION_FLAGS: FieldFlags = { comment: '--comment', verdict: '--verdict' };

/** Fields the CLI sends in minutes but takes as a duration (`--for 2h`). */
const MINUTE_FIELDS = new Set(['durationMinutes', 'byMinutes']);

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function inCliWords(message: string, flags: FieldFlags): string {
  let text = message
    .replace('a break-glass request needs an incidentId', '--break-glass needs --incident')
    .replace('incidentId goes with breakGlass: true only', '--incident goes with --break-glass');
  for (const [field, flag] of Object.entries(flags)) {
    const name = escapeRegExp(field);
    // `body: reason: must …` (a schema issue), possibly one of several joined by `; `
    text = text.replace(new RegExp(`(^|; )(?:body: )?${name}: `, 'g'), `$1${flag}: `);
    if (MINUTE_FIELDS.has(field)) {
      // `durationMinutes 120 exceeds the maximum of 60 …` → `--for 2h exceeds the maximum of 1h …`
      text = text.replace(
        new RegExp(`\\b${name} (\\d+) exceeds the ((?:[\\w-]+ )?maximum) of (\\d+)`),
        (_all, asked: string, what: string, max: string) =>
          `${flag} ${formatMinutes(Number(asked))} exceeds the ${what} of ${formatMinutes(Number(max))}`,
      );
    }
    // A camelCase name is the API's, never an English word of the message (`target` can be).
    if (/[A-Z]/.test(field)) text = text.replace(new RegExp(`\\b${name}\\b`, 'g'), flag);
  }
  return text;
}
