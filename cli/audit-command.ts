import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import type { Context } from './context.ts';
import { ExitCode, NotFoundError, UsageError } from './errors.ts';
import { clean, json } from './format.ts';

/** Exit code when the trail does not verify: scripts must tell it from a network error (1). */
export const AUDIT_BROKEN_EXIT = 7;

const Verification = z.looseObject({
  sessionId: z.string(),
  intact: z.boolean(),
  events: z.number(),
  expectedEvents: z.number(),
  brokenAt: z.optional(z.number()),
  problem: z.optional(z.string()),
  recording: z.optional(
    z.looseObject({
      intact: z.boolean(),
      chunks: z.number(),
      complete: z.optional(z.boolean()),
      headStored: z.optional(z.boolean()),
      ending: z.optional(z.string()),
      settledBy: z.optional(z.number()),
      problem: z.optional(z.string()),
      detail: z.optional(z.string()),
    }),
  ),
});

type Recording = NonNullable<z.infer<typeof Verification>['recording']>;

function recordingLine(id: string, recording: Recording): string {
  if (recording.problem === 'partial') {
    return `${id}: recording NOT VERIFIED IN FULL: it is too long to read here whole; ${clean(recording.detail ?? 'its end was not checked', 300)}\n`;
  }
  if (recording.problem === 'unsealed') {
    return `${id}: recording NOT VERIFIABLE: ${clean(recording.detail ?? 'the session stored no head to hold its end to', 300)}\n`;
  }
  if (!recording.intact) {
    return `${id}: recording BROKEN (${clean(recording.problem ?? 'broken', 20)}): ${clean(recording.detail ?? 'no reason given', 300)}\n`;
  }
  return `${id}: recording intact (${recording.chunks} chunks; every hash and link checks out; ${recordingEnd(recording)})\n`;
}

function recordingEnd(recording: Recording): string {
  if (recording.ending === 'cut-short')
    return 'ends at the chain head the session stored, but CUT SHORT: the bastion went before its recorder closed the recording, so its last seconds were never shipped';
  if (recording.ending === 'settling') {
    const by = recording.settledBy ? ` by ${new Date(recording.settledBy).toISOString()}` : '';
    return `the session ended moments ago and its last chunks may still be on their way: the chain head is stored${by}, verify again then`;
  }
  return recording.headStored
    ? 'ends at the chain head the session stored'
    : 'no chain head stored yet (session live, or it ended without one): a cut-short end cannot be told';
}

/**
 * drawbridge audit verify <session-id>: the API recomputes the trail from the table (every
 * hash, every link, and the end of the chain against the head the session item records) and
 * this prints whether it is intact. Exit 0 intact, 7 broken.
 */
export async function audit(context: Context): Promise<number> {
  const [action = '', id = ''] = context.positionals;
  if (action !== 'verify') {
    throw new UsageError(
      `unknown audit action '${clean(action, 40)}' (usage: drawbridge audit verify <session-id>)`,
    );
  }
  // Never part of a URL unless it can be a session id; the API would answer 404 anyway.
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError(`no session ${clean(id, 40)}`);
  const client = await context.client();
  const { data } = await client.request('GET', `/sessions/${id}/audit`, Verification, {
    retries: 2,
  });
  // intact covers the recording too; the trail is broken only when it names where.
  const trailBroken =
    !data.intact && (data.brokenAt !== undefined || data.recording?.intact !== false);
  if (context.json) context.out(json(data));
  else {
    if (!trailBroken) {
      context.out(
        `${id}: audit trail intact (${data.events} events; every hash, link and the recorded head check out)\n`,
      );
    } else {
      context.out(
        `${id}: audit trail BROKEN at event ${data.brokenAt ?? '?'}: ${clean(data.problem ?? 'no reason given', 300)}\n`,
      );
    }
    if (data.recording) context.out(recordingLine(id, data.recording));
  }
  return data.intact ? ExitCode.ok : AUDIT_BROKEN_EXIT;
}
