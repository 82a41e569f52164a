import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import { AUDIT_BROKEN_EXIT } from './audit-command.ts';
import type { Context } from './context.ts';
import { ExitCode, NotFoundError, UsageError } from './errors.ts';
import { clean } from './format.ts';

const ASCIICAST = 'application/x-asciicast';
const DEFAULT_IDLE_LIMIT_SECONDS = 2;

function sessionId(context: Context): string {
  const [id = ''] = context.positionals;
  // Never part of a URL unless it can be a session id; the API would answer 404 anyway.
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError(`no session ${clean(id, 40)}`);
  return id;
}

function positiveNumber(context: Context, flag: string, fallback: number): number {
  const text = context.string(flag);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || value <= 0 || value > 1000) {
    throw new UsageError(
      `--${flag} must be a number above 0 and at most 1000, not '${clean(text, 20)}'`,
    );
  }
  return value;
}

interface Fetched {
  body: string;
  /** the chain's problem when the recorder's chain does not hold */
  broken?: string;
  kind: string;
}

async function fetchRecording(context: Context, id: string, format: 'asciicast' | 'text') {
  const client = await context.client();
  const { body, headers } = await client.text(
    `/sessions/${id}/recording${format === 'text' ? '?format=text' : ''}`,
    { accept: format === 'text' ? 'text/plain' : ASCIICAST, retries: 2 },
  );
  const verdict = headers.get('drawbridge-recording') ?? undefined;
  return {
    body,
    kind: headers.get('drawbridge-recording-kind') ?? 'chunks',
    ...(verdict && verdict !== 'intact' ? { broken: verdict } : {}),
  } satisfies Fetched;
}

/** Says plainly what the recording is, and whether its chain held; the exit code follows. */
function report(context: Context, id: string, fetched: Fetched): number {
  if (fetched.kind === 'connections') {
    context.err(`${id} was not recorded (jump-only): these are its connections and forwards\n`);
  } else if (fetched.kind === 'terminal') {
    context.err(`${id}: Session Manager's log of its shell sessions\n`);
  }
  if (fetched.broken === 'partial') {
    context.err(
      `${id}: this is only the beginning of the recording: it is too long to read in one request, so its end was not checked\n`,
    );
    return AUDIT_BROKEN_EXIT;
  }
  if (fetched.broken) {
    context.err(
      `${id}: the recording does not verify (${clean(fetched.broken, 40)}); see drawbridge audit verify ${id}\n`,
    );
    return AUDIT_BROKEN_EXIT;
  }
  return ExitCode.ok;
}

type CastEvent = [seconds: number, code: string, data: string];

function castEvents(body: string): CastEvent[] {
  const events: CastEvent[] = [];
  for (const line of body.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (
        Array.isArray(parsed) &&
        typeof parsed[0] === 'number' &&
        typeof parsed[1] === 'string' &&
        typeof parsed[2] === 'string'
      ) {
        events.push([parsed[0], parsed[1], parsed[2]]);
      }
    } catch {
      // not an event line: skipped, as a player would
    }
  }
  return events;
}

/**
 * drawbridge replay <id> [--speed N] [--idle-limit S]: plays the recording in this terminal,
 * each output written after the pause it had, divided by the speed, and no pause longer than
 * the idle limit (default 2 s). Connection markers go to stderr. Exit 7 if the chain is broken.
 */
export async function replay(context: Context): Promise<number> {
  const id = sessionId(context);
  const speed = positiveNumber(context, 'speed', 1);
  const idleLimit = positiveNumber(context, 'idle-limit', DEFAULT_IDLE_LIMIT_SECONDS);
  const fetched = await fetchRecording(context, id, 'asciicast');
  const pause = context.io.sleep ?? ((ms: number) => sleep(ms));
  let previous = 0;
  for (const [at, code, data] of castEvents(fetched.body)) {
    const gap = Math.min(Math.max(0, at - previous), idleLimit) / speed;
    previous = at;
    if (gap > 0) await pause(Math.round(gap * 1000));
    if (code === 'o') context.out(data);
    else if (code === 'm') context.err(`\r\n[drawbridge] ${clean(data, 200)}\r\n`);
  }
  return report(context, id, fetched);
}

/**
 * drawbridge recording <id> [--out file.cast] [--text]: exports the recording as asciicast v2
 * (asciinema-compatible), or plain text with UTC times; to stdout without --out.
 */
export async function recording(context: Context): Promise<number> {
  const id = sessionId(context);
  const format = context.flag('text') ? 'text' : 'asciicast';
  const fetched = await fetchRecording(context, id, format);
  const out = context.string('out');
  if (out) {
    const path = resolve(context.io.cwd, out);
    await writeFile(path, fetched.body, { mode: 0o600 });
    context.err(`${id}: recording written to ${path}\n`);
  } else {
    context.out(fetched.body);
  }
  return report(context, id, fetched);
}
