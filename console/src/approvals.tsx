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

/**
 * The queue: every pending request the caller may see. Admins see everyone's (GET
 * /sessions?all=true); others see their own here and reach other people's through the link
 * in the notification (#/approvals/<id>).
 * TODO(GET /approvals): a route listing the requests that wait for the caller's approver
 * groups, so approvers who are not admins get a queue too.
 */
export function Approvals({ admin }: { admin: boolean }) {
  const pending = usePoll(
    () =>
      api<Page<Session>>(
        'GET',
        `/sessions?status=PENDING_APPROVAL&limit=100${admin ? '&all=true' : ''}`,
      ),
    [admin],
  );
  const items = pending.data?.items ?? [];
  const mine = me()?.subject;
  const forMe = items.filter((session) => session.owner !== mine);
  const own = items.filter((session) => session.owner === mine);
  return (
    <>
      <h1>Approvals</h1>
      <ErrorNote error={pending.error} />
      <Section title="Waiting for a decision">
        {forMe.length === 0 ? <p class="muted">Nothing waits for you.</p> : null}
        {forMe.map((session) => (
          <Decision key={session.id} session={session} onDone={pending.reload} />
        ))}
      </Section>
      <Section title="Your own requests">
        {own.length === 0 ? <p class="muted">None pending.</p> : null}
        {own.map((session) => (
          <Decision key={session.id} session={session} onDone={pending.reload} />
        ))}
      </Section>
    </>
  );
}

/**
 * A notification's link: one request. An approver who is neither owner nor admin cannot read
 * it (GET answers 404), so the decision is offered on the id alone and the API judges.
 */
export function ApprovalLink({ id }: { id: string }) {
  const read = usePoll(() => api<Session>('GET', `/sessions/${id}`).catch(() => undefined), [id]);
  const session: Session = read.data ?? {
    id,
    status: 'PENDING_APPROVAL',
    target: '(not visible to you)',
    mode: '',
    owner: '(someone else)',
    reason: 'Only the owner and admins may read a request; you may still decide on it.',
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
