import { useEffect, useState } from 'preact/hooks';
import type { RecordingTermsLike } from '../../lib/domain/recording-words.ts';
import { api, type Connection, LIVE, type Page, type Session } from './api.ts';
import { type TargetChoice, targetLabel } from './target-label.ts';
import {
  Copyable,
  countdown,
  ErrorNote,
  Section,
  Status,
  useAction,
  useNow,
  usePoll,
  when,
} from './ui.tsx';

/**
 * The targets this person may open. GET /targets (what the policy allows the caller) answers
 * when the API has it; otherwise the names of targets already used are suggested and the API
 * judges whatever is typed.
 * TODO(GET /targets): drop the fallback once every API serves the route.
 */
async function loadTargets(): Promise<TargetChoice[] | undefined> {
  try {
    const answer = await api<{ items: TargetChoice[] } | TargetChoice[]>('GET', '/targets');
    return Array.isArray(answer) ? answer : answer.items;
  } catch {
    return undefined;
  }
}

function RequestForm({ onCreated, known }: { onCreated: () => void; known: string[] }) {
  const [targets, setTargets] = useState<TargetChoice[] | undefined | null>(null);
  useEffect(() => void loadTargets().then(setTargets), []);
  const [target, setTarget] = useState('');
  const [minutes, setMinutes] = useState('');
  const [reason, setReason] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [breakGlass, setBreakGlass] = useState(false);
  const [incident, setIncident] = useState('');
  const action = useAction();
  const chosen = targets?.find((candidate) => candidate.name === target);
  const max = chosen?.maxDurationMinutes ?? 1440;
  const mayBreakGlass = targets ? targets.some((candidate) => candidate.breakGlass) : true;

  const submit = async (event: Event) => {
    event.preventDefault();
    const ok = await action.run(() =>
      api('POST', '/sessions', {
        target,
        reason,
        publicKey: publicKey.trim(),
        ...(minutes ? { durationMinutes: Number(minutes) } : {}),
        ...(breakGlass ? { breakGlass: true, incidentId: incident } : {}),
      }),
    );
    if (ok) {
      setReason('');
      onCreated();
    }
  };

  return (
    <form class="request" onSubmit={(event) => void submit(event)}>
      <div class="row">
        <label for="request-target">
          Target
          {targets ? (
            <select
              id="request-target"
              required
              value={target}
              onChange={(event) => setTarget(event.currentTarget.value)}
            >
              <option value="">Choose…</option>
              {targets.map((candidate) => (
                <option value={candidate.name} key={candidate.name}>
                  {targetLabel(candidate)}
                </option>
              ))}
            </select>
          ) : (
            <>
              <input
                id="request-target"
                required
                list="known-targets"
                value={target}
                onInput={(event) => setTarget(event.currentTarget.value)}
                placeholder="e.g. demo"
              />
              <datalist id="known-targets">
                {known.map((name) => (
                  <option value={name} key={name} />
                ))}
              </datalist>
            </>
          )}
        </label>
        <label>
          Minutes
          <input
            type="number"
            min={1}
            max={max}
            value={minutes}
            placeholder={String(chosen?.defaultDurationMinutes ?? 'policy default')}
            onInput={(event) => setMinutes(event.currentTarget.value)}
          />
        </label>
      </div>
      {chosen?.recording === 'full' ? (
        <p class="notice">
          {chosen.name} is recorded: a session there is a shell on the bastion whose terminal is
          kept and can be replayed, never a tunnel. {targetTermsWords(chosen.recordingPolicy)}
        </p>
      ) : null}
      <label>
        Reason
        <input
          required
          minLength={3}
          maxLength={500}
          value={reason}
          onInput={(event) => setReason(event.currentTarget.value)}
          placeholder="What you need the access for"
        />
      </label>
      <label>
        Your SSH public key
        <textarea
          required
          rows={2}
          value={publicKey}
          onInput={(event) => setPublicKey(event.currentTarget.value)}
          placeholder="ssh-ed25519 AAAA… (cat ~/.ssh/id_ed25519.pub)"
        />
      </label>
      {mayBreakGlass ? (
        <fieldset class="break-glass">
          <legend>Break-glass (on-call only)</legend>
          <label class="inline">
            <input
              type="checkbox"
              checked={breakGlass}
              onChange={(event) => setBreakGlass(event.currentTarget.checked)}
            />
            No approval: this is an incident
          </label>
          {breakGlass ? (
            <label>
              Incident
              <input
                required
                value={incident}
                onInput={(event) => setIncident(event.currentTarget.value)}
                placeholder="INC-123"
              />
            </label>
          ) : null}
        </fieldset>
      ) : null}
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy}>
        Request access
      </button>
    </form>
  );
}

/** " No activity for 15 min closes the connection and ends the session.", or nothing. */
function idleWords(policy: RecordingTermsLike | undefined): string {
  const idle = policy?.idleTimeoutMinutes;
  return idle
    ? ` No activity for ${idle} min closes the connection${policy?.idleEndsSession === false ? '' : ' and ends the session'}.`
    : '';
}

/** A recorded target's terms in the request form, before anything is requested. */
function targetTermsWords(policy: RecordingTermsLike | undefined): string {
  if (!policy) return '';
  return `${policy.input ? 'What you type is kept too (never passwords).' : 'What you type is not kept.'}${idleWords(policy)}`;
}

/** What the session's recording keeps, in words: the API's policy, said plainly. */
export function recordingWords(session: Session): string {
  const policy = session.recordingPolicy;
  const mode = policy?.mode ?? session.recording ?? 'metadata';
  if (mode === 'off') return 'Not recorded (the audit trail only).';
  if (mode !== 'full') return 'Connections are logged; the terminal is not recorded by Drawbridge.';
  return `Recorded: terminal output${policy?.input ? ' and input (never passwords)' : ', not what you type'}; the owner, admins and auditors can replay it.${idleWords(policy)}`;
}

export function RecordedBadge({ session }: { session: Session }) {
  return session.recording === 'full' ? <span class="tag recorded">Recorded</span> : null;
}

/** Run once before the lines: they trust only the host key Drawbridge issued the bastion. */
function PinHostKey({ connection }: { connection: Connection }) {
  if (!connection.knownHosts || !connection.knownHostsFile) return null;
  return (
    <Copyable
      label="Pin the bastion's host key (once)"
      text={`echo '${connection.knownHosts}' > ${connection.knownHostsFile}`}
    />
  );
}

export function ConnectionHelp({ session }: { session: Session }) {
  const connection = session.connection;
  if (session.ssm)
    return (
      <Copyable
        label="Session Manager"
        text={`drawbridge credentials ${session.id}\naws ssm start-session --target ${session.ssm.instanceId}`}
      />
    );
  if (!connection) return null;
  return (
    <div class="connection">
      {connection.recorded ? (
        <p class="notice">
          {recordingWords(session)} It is a shell on the bastion, never a tunnel: reach{' '}
          {connection.target.host}:{connection.target.port} from there.
        </p>
      ) : null}
      {connection.hostKeyFingerprint ? (
        <p class="muted">
          Bastion host key: <code>{connection.hostKeyFingerprint}</code>
        </p>
      ) : null}
      <PinHostKey connection={connection} />
      {connection.recorded ? (
        <Copyable label="Shell on the bastion (recorded)" text={connection.sshShell ?? ''} />
      ) : (
        <>
          <Copyable label="Jump to the target" text={connection.sshJump ?? ''} />
          <Copyable label="Port forward" text={connection.sshForward ?? ''} />
        </>
      )}
      <Copyable label="~/.ssh/config" text={connection.sshConfig} />
    </div>
  );
}

function SessionCard({ session, onChange }: { session: Session; onChange: () => void }) {
  const now = useNow();
  const action = useAction();
  const [extending, setExtending] = useState(false);
  const [byMinutes, setByMinutes] = useState('15');
  const [why, setWhy] = useState('');
  const live = LIVE.includes(session.status);
  return (
    <article class="session" aria-label={`session ${session.id}`}>
      <header>
        <Status status={session.status} />
        <strong>{session.target}</strong>
        <RecordedBadge session={session} />
        {session.breakGlass ? <span class="tag">break-glass {session.incidentId}</span> : null}
        {session.status === 'READY' ? (
          <span class="countdown" title={`until ${when(session.expiresAt)}`}>
            {countdown(session.expiresAt, now)} left
          </span>
        ) : null}
        <a class="detail-link" href={`#/sessions/${session.id}`}>
          Details
        </a>
      </header>
      <p class="muted">
        {session.reason} · asked {when(session.createdAt)}
        {session.status === 'PENDING_APPROVAL' && session.approval
          ? ` · waiting for ${session.approval.approverGroups.join(', ')}`
          : ''}
        {session.failureReason ? ` · ${session.failureReason}` : ''}
        {session.endReason ? ` · ended: ${session.endReason}` : ''}
      </p>
      {session.status === 'READY' ? <ConnectionHelp session={session} /> : null}
      {live ? (
        <div class="actions">
          {session.status === 'READY' ? (
            <button type="button" class="secondary" onClick={() => setExtending(!extending)}>
              Extend
            </button>
          ) : null}
          <button
            type="button"
            class="danger"
            disabled={action.busy}
            onClick={() =>
              void action.run(() => api('DELETE', `/sessions/${session.id}`)).then(onChange)
            }
          >
            End now
          </button>
        </div>
      ) : null}
      {extending ? (
        <form
          class="row"
          onSubmit={(event) => {
            event.preventDefault();
            void action
              .run(() =>
                api('POST', `/sessions/${session.id}/extend`, {
                  byMinutes: Number(byMinutes),
                  reason: why,
                }),
              )
              .then((ok) => {
                if (ok) setExtending(false);
                onChange();
              });
          }}
        >
          <label>
            By minutes
            <input
              type="number"
              min={1}
              value={byMinutes}
              onInput={(event) => setByMinutes(event.currentTarget.value)}
            />
          </label>
          <label>
            Why
            <input
              required
              minLength={3}
              value={why}
              onInput={(event) => setWhy(event.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={action.busy}>
            Extend
          </button>
        </form>
      ) : null}
      <ErrorNote error={action.error} />
    </article>
  );
}

export function MySessions() {
  const sessions = usePoll(() => api<Page<Session>>('GET', '/sessions?limit=50'));
  const items = sessions.data?.items ?? [];
  const known = [...new Set(items.map((session) => session.target))];
  const live = items.filter((session) => LIVE.includes(session.status));
  const past = items.filter((session) => !LIVE.includes(session.status)).slice(0, 10);
  return (
    <>
      <h1>My sessions</h1>
      <Section title="Request access">
        <RequestForm onCreated={sessions.reload} known={known} />
      </Section>
      <Section title="Live">
        <ErrorNote error={sessions.error} />
        {live.length === 0 ? <p class="muted">No live session.</p> : null}
        {live.map((session) => (
          <SessionCard key={session.id} session={session} onChange={sessions.reload} />
        ))}
      </Section>
      <Section title="Recent">
        {past.length === 0 ? <p class="muted">Nothing yet.</p> : null}
        {past.map((session) => (
          <SessionCard key={session.id} session={session} onChange={sessions.reload} />
        ))}
      </Section>
    </>
  );
}
