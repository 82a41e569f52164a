import { useEffect, useRef, useState } from 'preact/hooks';
import { type AuditEvent, api, type Session } from './api.ts';
import { accessToken } from './auth.ts';
import { ConnectionHelp, RecordedBadge, recordingWords } from './sessions.tsx';
import { countdown, ErrorNote, Section, Status, useNow, usePoll, when } from './ui.tsx';

interface RecordingCheck {
  intact: boolean;
  chunks: number;
  /** the session stored the chain's head when it ended: a recording cut short would show */
  headStored: boolean;
  problem?: string;
  detail?: string;
}

interface Verification {
  /** the trail and, for a recorded session, its recording */
  intact: boolean;
  events: number;
  expectedEvents: number;
  brokenAt?: number;
  problem?: string;
  recording?: RecordingCheck;
}

/** The trail's verdict; `intact` covers the recording too, so the trail is broken only when it says where. */
function TrailVerdict({ verification }: { verification: Verification }) {
  const trailBroken =
    !verification.intact &&
    (verification.brokenAt !== undefined || verification.recording?.intact !== false);
  const recording = verification.recording;
  return (
    <>
      <p class={trailBroken ? 'error' : 'verified'} role="status">
        {trailBroken
          ? `Not intact at event ${verification.brokenAt ?? '?'}: ${verification.problem ?? ''}`
          : `Verified: ${verification.events} events, hash chain intact.`}
      </p>
      {recording ? (
        <p class={recording.intact ? 'verified' : 'error'}>
          {recording.intact
            ? `Recording verified: ${recording.chunks} chunks, hash chain intact${
                recording.headStored
                  ? ', ending at the head the session stored.'
                  : '; no head stored yet (live session), so a cut-short end cannot be told.'
              }`
            : `Recording not intact (${recording.problem ?? 'broken'}): ${recording.detail ?? ''}`}
        </p>
      ) : null}
    </>
  );
}

interface Connections {
  items: AuditEvent[];
  connections?: { kind: string; address?: string; at?: string; target?: string }[];
}

/**
 * The recording, played in the page by asciinema-player (bundled and served by Drawbridge,
 * loaded only here). It is fetched with the bearer token and handed to the player as data.
 */
function Recording({ id }: { id: string }) {
  const element = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'loading' | 'none' | 'shown' | string>('loading');
  useEffect(() => {
    let player: { dispose(): void } | undefined;
    void (async () => {
      const response = await fetch(`/sessions/${id}/recording`, {
        headers: { authorization: `Bearer ${await accessToken()}` },
      });
      if (response.status === 404) return setState('none');
      if (!response.ok) return setState(`the recording could not be read (${response.status})`);
      const cast = await response.text();
      const { create } = await import('asciinema-player');
      if (!element.current) return;
      player = create({ data: cast }, element.current, { fit: 'width', idleTimeLimit: 2 });
      setState('shown');
    })().catch((error: unknown) => setState(String(error)));
    return () => player?.dispose();
  }, [id]);
  return (
    <Section title="Recording">
      {state === 'loading' ? <p class="muted">Loading…</p> : null}
      {state === 'none' ? <p class="muted">No recording for this session.</p> : null}
      {state !== 'loading' && state !== 'none' && state !== 'shown' ? (
        <ErrorNote error={state} />
      ) : null}
      <div ref={element} class="player" data-state={state} />
    </Section>
  );
}

export function SessionDetail({ id }: { id: string }) {
  const now = useNow();
  const session = usePoll(() => api<Session>('GET', `/sessions/${id}`), [id]);
  const audit = usePoll(
    async () => {
      const [verification, events] = await Promise.all([
        api<Verification>('GET', `/sessions/${id}/audit`),
        api<Connections>('GET', `/sessions/${id}/events`),
      ]);
      return { verification, events };
    },
    [id],
    3_000,
  );
  const s = session.data;
  if (session.error && !s) {
    const gone = session.error.includes('not found') || session.error.includes('404');
    return (
      <>
        <h1>Session</h1>
        <ErrorNote error={gone ? 'No such session, or not one you may see.' : session.error} />
      </>
    );
  }
  const verification = audit.data?.verification;
  return (
    <>
      <h1>
        Session <code>{id}</code>
      </h1>
      {s ? (
        <Section title="Summary">
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Status status={s.status} />{' '}
              {s.status === 'READY' ? `${countdown(s.expiresAt, now)} left` : ''}
            </dd>
            <dt>Owner</dt>
            <dd>{s.owner}</dd>
            <dt>Target</dt>
            <dd>
              {s.target} ({s.mode}) <RecordedBadge session={s} />
            </dd>
            <dt>Recording</dt>
            <dd>{recordingWords(s)}</dd>
            <dt>From</dt>
            <dd>{s.sourceCidr ?? '—'}</dd>
            <dt>Reason</dt>
            <dd>{s.reason}</dd>
            <dt>Ready / expires</dt>
            <dd>
              {when(s.readyAt)} → {when(s.expiresAt)}
            </dd>
            {s.endedAt ? (
              <>
                <dt>Ended</dt>
                <dd>
                  {when(s.endedAt)} {s.endReason ? `(${s.endReason})` : ''}
                </dd>
              </>
            ) : null}
          </dl>
          {s.status === 'READY' ? <ConnectionHelp session={s} /> : null}
        </Section>
      ) : null}
      <Section title="Audit trail">
        {verification ? (
          <TrailVerdict verification={verification} />
        ) : (
          <ErrorNote error={audit.error} />
        )}
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Who</th>
              <th scope="col">Status</th>
              <th scope="col">Hash</th>
            </tr>
          </thead>
          <tbody>
            {(audit.data?.events.items ?? []).map((event) => (
              <tr key={event.seq}>
                <td>{event.seq}</td>
                <td>{when(event.at)}</td>
                <td>{event.type}</td>
                <td>{event.actor}</td>
                <td>{event.status ?? ''}</td>
                <td>
                  <code title={event.hash}>{event.hash.slice(0, 12)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {audit.data?.events.connections?.length ? (
          <>
            <h3>Connections to the bastion</h3>
            <ul>
              {audit.data.events.connections.map((record, index) => (
                <li key={`${record.kind}-${index}`}>
                  {when(record.at)} {record.kind} {record.address ?? ''} {record.target ?? ''}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </Section>
      <Recording id={id} />
    </>
  );
}
