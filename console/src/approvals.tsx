import { useState } from 'preact/hooks';
import { api, type Page, type Session } from './api.ts';
import { me } from './auth.ts';
import { ErrorNote, Section, Status, useAction, usePoll, when } from './ui.tsx';

/**
 * One request waiting for a decision. The buttons appear only when the API would accept
 * them: never on one's own request (the API refuses it with 403 anyway).
 */
function Decision({ session, onDone }: { session: Session; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const action = useAction();
  const own = session.owner === me()?.subject;
  const decide = (verb: 'approve' | 'deny') =>
    void action
      .run(() => api('POST', `/sessions/${session.id}/${verb}`, comment ? { comment } : undefined))
      .then(onDone);
  return (
    <article class="session" aria-label={`request ${session.id}`}>
      <header>
        <Status status={session.status} />
        <strong>{session.target}</strong>
        <span>by {session.owner}</span>
        <span class="muted">for {session.durationMinutes} min</span>
      </header>
      <p>“{session.reason}”</p>
      <p class="muted">
        from {session.sourceCidr ?? '—'} · asked {when(session.createdAt)} · decide before{' '}
        {when(session.approval?.deadline)}
      </p>
      {session.status !== 'PENDING_APPROVAL' ? (
        <p class="muted">
          Decided by {session.approval?.decidedBy ?? '—'}
          {session.approval?.comment ? `: “${session.approval.comment}”` : ''}
        </p>
      ) : own ? (
        <p class="notice">
          This is your own request: someone else in {session.approval?.approverGroups.join(', ')}{' '}
          must decide on it.
        </p>
      ) : (
        <div class="decision">
          <label>
            Comment
            <input
              value={comment}
              maxLength={300}
              onInput={(event) => setComment(event.currentTarget.value)}
            />
          </label>
          <div class="actions">
            <button type="button" disabled={action.busy} onClick={() => decide('approve')}>
              Approve
            </button>
            <button
              type="button"
              class="danger"
              disabled={action.busy}
              onClick={() => decide('deny')}
            >
              Deny
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={action.error} />
    </article>
  );
}

// Pages of GET /approvals read per poll: each page may hold few matches (the API filters a
// listing of every pending request), so the queue follows the cursor a little way.
const QUEUE_PAGES = 5;

async function queue(): Promise<Session[]> {
  const items: Session[] = [];
  let cursor: string | undefined;
  for (let read = 0; read < QUEUE_PAGES; read++) {
    const query = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await api<Page<Session>>('GET', `/approvals?${query}`);
    items.push(...page.items);
    cursor = page.cursor;
    if (!cursor) break;
  }
  return items;
}

/**
 * The queue: the requests waiting for the caller's decision (GET /approvals: an approver group
 * of the target, never their own; admins are not approvers by rank), and the caller's own
 * pending requests beside them.
 */
export function Approvals() {
  const waiting = usePoll(queue, []);
  const own = usePoll(
    () => api<Page<Session>>('GET', '/sessions?status=PENDING_APPROVAL&limit=100'),
    [],
  );
  const reload = () => {
    waiting.reload();
    own.reload();
  };
  const forMe = waiting.data ?? [];
  const mine = own.data?.items ?? [];
  return (
    <>
      <h1>Approvals</h1>
      <ErrorNote error={waiting.error ?? own.error} />
      <Section title="Waiting for a decision">
        {forMe.length === 0 ? <p class="muted">Nothing waits for you.</p> : null}
        {forMe.map((session) => (
          <Decision key={session.id} session={session} onDone={reload} />
        ))}
      </Section>
      <Section title="Your own requests">
        {mine.length === 0 ? <p class="muted">None pending.</p> : null}
        {mine.map((session) => (
          <Decision key={session.id} session={session} onDone={reload} />
        ))}
      </Section>
    </>
  );
}

/**
 * A notification's link: one request. GET /sessions/{id} answers the owner and admins; an
 * approver finds it in their queue. Anyone else still gets the decision offered on the id
 * alone, and the API judges.
 */
export function ApprovalLink({ id }: { id: string }) {
  const read = usePoll(
    () =>
      api<Session>('GET', `/sessions/${id}`).catch(() =>
        queue().then((items) => items.find((session) => session.id === id)),
      ),
    [id],
  );
  const session: Session = read.data ?? {
    id,
    status: 'PENDING_APPROVAL',
    target: '(not visible to you)',
    mode: '',
    owner: '(someone else)',
    reason:
      'Only the owner, admins and its approvers may read a request; you may still decide on it.',
    durationMinutes: 0,
  };
  return (
    <>
      <h1>Approval request</h1>
      <Decision session={session} onDone={read.reload} />
      <p>
        <a href="#/approvals">All approvals</a>
      </p>
    </>
  );
}
