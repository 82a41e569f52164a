import { type AuditEvent, verifyChain } from '../domain/audit.ts';
import type { RecordingVerdict } from '../domain/recording-chain.ts';
import { type Identity, isLive, type Session } from '../domain/session.ts';
import { chunkRecording, unsealedVerdict } from '../domain/session-recording.ts';
import type { AppDeps } from './deps.ts';
import { loadVisibleSession } from './sessions-query.ts';

/**
 * How a recording ended, as far as the session knows: `live` (the session is, so it can still
 * grow); `settling` (ended moments ago, its last chunks may still be on their way: the head is
 * stored by `settledBy`); `closed` (every connection's end chunk arrived); `cut-short` (the
 * bastion went before its recorder closed the recording: its last seconds were never shipped);
 * `unknown` (ended without a head: nothing recorded, or a head never stored); `partial` (too
 * long to read here in one go: only its beginning was checked, so its end is not known).
 */
export type RecordingEnding = 'live' | 'settling' | 'closed' | 'cut-short' | 'unknown' | 'partial';

/** A recorded session's recording, checked chunk by chunk and against the head the session stored. */
export interface RecordingCheck extends RecordingVerdict {
  /** false while the session is live or settling, or when it ended without storing a head */
  headStored: boolean;
  ending: RecordingEnding;
  /** settling only: by when the reaper stores the head, closed or not (epoch ms) */
  settledBy?: number;
}

export interface AuditVerification {
  sessionId: string;
  /** the trail and, for a recorded session, its recording */
  intact: boolean;
  /** events read from the table */
  events: number;
  /** what the session item says the trail holds */
  expectedEvents: number;
  /** seq of the first event that does not fit the chain */
  brokenAt?: number;
  /** what is wrong with the trail, in words */
  problem?: string;
  /** recording: full sessions only */
  recording?: RecordingCheck;
}

/**
 * Recomputes a session's trail: every event's hash over its own fields, every link to the
 * previous event's hash, seq numbers 1..n in order, and the end of the chain against the
 * head (auditSeq, auditHead) that the store writes in the same transaction as each event.
 * The chain alone cannot notice its last events being deleted; the head can. Changing an
 * event, removing one anywhere, or reordering them all break it.
 *
 * What it cannot catch: someone able to rewrite the whole trail and the session item
 * consistently. The CloudWatch Logs mirror of every event is the independent copy for that.
 */
export function checkTrail(
  session: Session,
  events: readonly AuditEvent[],
  recording?: RecordingCheck,
): AuditVerification {
  const trail = checkEvents(session, events);
  if (!recording) return trail;
  return { ...trail, intact: trail.intact && recording.intact, recording };
}

/**
 * Checks the recorder's stored lines against the session, and against its stored head once it
 * has one. A partial read (only the recording's beginning) is never intact: its end is unknown.
 */
export function checkRecording(
  session: Session,
  lines: readonly string[],
  partial = false,
  trail: readonly AuditEvent[] = [],
): RecordingCheck {
  const head = session.recordingHead;
  const { verdict } = chunkRecording(session.id, lines, head, partial);
  const settle = session.recordingSettle;
  return {
    ...unsealedVerdict(session, verdict, trail),
    headStored: head !== undefined,
    ending: partial ? 'partial' : endingOf(session, verdict),
    ...(settle && !head ? { settledBy: settle.deadline } : {}),
  };
}

function endingOf(session: Session, verdict: RecordingVerdict): RecordingEnding {
  const head = session.recordingHead;
  if (head?.closed === false) return 'cut-short';
  // A head stored before closing was recorded: only a complete recording up to it says closed.
  if (head) return head.closed || verdict.complete ? 'closed' : 'unknown';
  if (isLive(session.status)) return 'live';
  return session.recordingSettle ? 'settling' : 'unknown';
}

function checkEvents(session: Session, events: readonly AuditEvent[]): AuditVerification {
  const base = { sessionId: session.id, events: events.length, expectedEvents: session.auditSeq };
  const broken = (brokenAt: number, problem: string): AuditVerification => ({
    ...base,
    intact: false,
    brokenAt,
    problem,
  });

  const foreign = events.findIndex((event) => event.sessionId !== session.id);
  if (foreign >= 0) return broken(foreign + 1, `event ${foreign + 1} belongs to another session`);
  const chain = verifyChain(events);
  if (!chain.intact) {
    const at = chain.brokenAt ?? 1;
    const event = events[at - 1];
    const problem =
      event === undefined
        ? `the trail breaks at event ${at}`
        : event.seq !== at
          ? `position ${at} holds event ${event.seq}: an event was removed or the trail reordered`
          : `event ${at} does not match its hash or the previous event's hash: it was changed`;
    return broken(at, problem);
  }
  if (events.length < session.auditSeq) {
    return broken(
      events.length + 1,
      `the trail ends at event ${events.length} but the session recorded ${session.auditSeq}: events were removed`,
    );
  }
  const last = events.at(-1);
  if (events.length > session.auditSeq || (last && last.hash !== session.auditHead)) {
    return broken(
      events.length,
      "the trail's last event is not the one the session recorded: events were added or replaced",
    );
  }
  return { ...base, intact: true };
}

/**
 * GET /sessions/{id}/audit: the owner or an admin checks a session's trail and, when the
 * session was recorded, its recording.
 */
export async function verifySessionAudit(
  deps: Pick<AppDeps, 'policy' | 'store'> & Partial<Pick<AppDeps, 'recordings'>>,
  identity: Identity,
  id: string,
): Promise<AuditVerification> {
  const session = await loadVisibleSession(deps, identity, id);
  const [events, stored] = await Promise.all([
    deps.store.listEvents(session.id),
    session.recording === 'full' && deps.recordings ? deps.recordings.read(session) : undefined,
  ]);
  const recording =
    stored?.kind === 'chunks'
      ? checkRecording(session, stored.lines, stored.partial, events)
      : undefined;
  return checkTrail(session, events, recording);
}
