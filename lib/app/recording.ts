import { StaleSessionError } from '../domain/errors.ts';
import { isAuditor } from '../domain/policy.ts';
import type { Identity, Session } from '../domain/session.ts';
import {
  type RecordingFormat,
  type RenderedRecording,
  renderRecording,
  type SessionRecordingSource,
  unsealedVerdict,
} from '../domain/session-recording.ts';
import type { StoredRecording } from '../ports/recording-reader.ts';
import type { AppDeps } from './deps.ts';
import { applyEvent } from './record.ts';
import { loadVisibleSession } from './sessions-query.ts';

type RecordingDeps = Pick<AppDeps, 'policy' | 'store' | 'auditLog' | 'clock'> &
  Partial<Pick<AppDeps, 'recordings' | 'sessionLog' | 'logger'>>;

/** The owner, the admins and the policy's auditors; anyone else is told the session does not exist. */
export function loadReplayableSession(
  deps: Pick<AppDeps, 'policy' | 'store'>,
  identity: Identity,
  id: string,
): Promise<Session> {
  return loadVisibleSession(deps, identity, id, () => isAuditor(deps.policy, identity));
}

/**
 * What the session kept: the recorder's chunks (recording full), Session Manager's output
 * (ssm), or the bastion's connection log (jump-only: metadata is its recording).
 */
export async function recordingSource(
  deps: Partial<Pick<AppDeps, 'recordings' | 'sessionLog'>>,
  session: Session,
): Promise<SessionRecordingSource> {
  if (session.recording === 'full' || session.mode === 'ssm') {
    const stored: StoredRecording = (await deps.recordings?.read(session)) ?? {
      kind: 'chunks',
      lines: [],
      partial: false,
    };
    if (stored.kind === 'terminal') return stored;
    return {
      kind: 'chunks',
      lines: stored.lines,
      partial: stored.partial,
      ...(session.recordingHead ? { head: session.recordingHead } : {}),
    };
  }
  return { kind: 'connections', records: (await deps.sessionLog?.connections(session)) ?? [] };
}

const MAX_RACE_RETRIES = 3;

/**
 * GET /sessions/{id}/recording: renders the recording and records who watched it. The audit
 * event is written before the recording is returned: a replay nobody can see in the trail
 * does not happen.
 */
export async function replaySession(
  deps: RecordingDeps,
  identity: Identity,
  id: string,
  format: RecordingFormat,
): Promise<{ session: Session; recording: RenderedRecording }> {
  let session = await loadReplayableSession(deps, identity, id);
  const rendered = renderRecording(session.id, await recordingSource(deps, session), format);
  // held to the same rule as verify: chunks of a session that settled without a head are not intact
  const recording = rendered.verdict
    ? { ...rendered, verdict: unsealedVerdict(session, rendered.verdict) }
    : rendered;
  for (let attempt = 0; ; attempt += 1) {
    try {
      session = await applyEvent(
        deps,
        session,
        { type: 'note' },
        {
          type: 'recording-viewed',
          actor: identity.subject,
          detail: {
            format,
            ...(recording.verdict ? { intact: recording.verdict.intact } : {}),
            // what was watched was only the beginning: the trail says so
            ...(recording.partial ? { partial: true } : {}),
          },
        },
      );
      return { session, recording };
    } catch (error) {
      // Another write (an end, an extension) moved the session first: record on the fresh copy.
      if (!(error instanceof StaleSessionError) || attempt >= MAX_RACE_RETRIES) throw error;
      const fresh = await deps.store.get(session.id);
      if (!fresh) throw error;
      session = fresh;
    }
  }
}
