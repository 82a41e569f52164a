import { useState } from 'preact/hooks';
import { api, type Page, type Review, type Session } from './api.ts';
import { countdown, ErrorNote, Section, Status, useAction, useNow, usePoll, when } from './ui.tsx';

function ReviewForm({ review, onDone }: { review: Review; onDone: () => void }) {
  const [verdict, setVerdict] = useState('appropriate');
  const [comment, setComment] = useState('');
  const action = useAction();
  return (
    <form
      class="decision"
      onSubmit={(event) => {
        event.preventDefault();
        void action
          .run(() => api('POST', `/reviews/${review.sessionId}`, { verdict, comment }))
          .then(onDone);
      }}
    >
      <div class="row">
        <label>
          Verdict
          <select value={verdict} onChange={(event) => setVerdict(event.currentTarget.value)}>
            <option value="appropriate">Appropriate</option>
            <option value="inappropriate">Inappropriate</option>
          </select>
        </label>
        <label class="grow">
          Comment
          <input
            required
            minLength={3}
            maxLength={1000}
            value={comment}
            onInput={(event) => setComment(event.currentTarget.value)}
          />
        </label>
      </div>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy}>
        Close review
      </button>
    </form>
  );
}

/** Break-glass reviews, open ones first (admins: the API refuses everyone else). */
export function Reviews() {
  const reviews = usePoll(() => api<Page<Review>>('GET', '/reviews?status=all&limit=100'));
  const items = [...(reviews.data?.items ?? [])].sort(
    (a, b) => Number(a.status === 'reviewed') - Number(b.status === 'reviewed'),
  );
  return (
    <>
      <h1>Break-glass reviews</h1>
      <ErrorNote error={reviews.error} />
      {items.length === 0 && reviews.data ? <p class="muted">No break-glass session yet.</p> : null}
      {items.map((review) => (
        <article class="session" key={review.sessionId} aria-label={`review ${review.sessionId}`}>
          <header>
            <span class={`status status-${review.status}`}>{review.status}</span>
            <strong>{review.target}</strong>
            <span>by {review.requester}</span>
            <span class="tag">{review.incidentId}</span>
            <a class="detail-link" href={`#/sessions/${review.sessionId}`}>
              Session
            </a>
          </header>
          <p>“{review.reason}”</p>
          <p class="muted">
            from {review.sourceIp ?? '—'} · {when(review.requestedAt)} · {review.durationMinutes}{' '}
            min
          </p>
          {review.status === 'open' ? (
            <ReviewForm review={review} onDone={reviews.reload} />
          ) : (
            <p>
              <strong>{review.verdict}</strong> by {review.reviewedBy}: “{review.comment}”
            </p>
          )}
        </article>
      ))}
    </>
  );
}

/** Every live bastion (admins): who, where to, from where, since and until, end now. */
export function LiveBastions() {
  const now = useNow();
  const live = usePoll(() =>
    api<Page<Session>>('GET', '/sessions?all=true&status=READY&limit=100'),
  );
  const action = useAction();
  const items = live.data?.items ?? [];
  return (
    <>
      <h1>Live bastions</h1>
      <ErrorNote error={live.error ?? action.error} />
      <Section title={`${items.length} live`}>
        <table>
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
              <th scope="col">Since</th>
              <th scope="col">Until</th>
              <th scope="col">Left</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((session) => (
              <tr key={session.id}>
                <td>{session.owner}</td>
                <td>
                  <a href={`#/sessions/${session.id}`}>{session.target}</a>{' '}
                  {session.breakGlass ? <span class="tag">break-glass</span> : null}
                </td>
                <td>{session.sourceCidr}</td>
                <td>{when(session.readyAt)}</td>
                <td>{when(session.expiresAt)}</td>
                <td>{countdown(session.expiresAt, now)}</td>
                <td>
                  <button
                    type="button"
                    class="danger small"
                    disabled={action.busy}
                    onClick={() =>
                      void action
                        .run(() => api('DELETE', `/sessions/${session.id}`))
                        .then(live.reload)
                    }
                  >
                    End now
                    <span class="visually-hidden">
                      {` ${session.owner}'s session to ${session.target}`}
                    </span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {items.length === 0 ? <p class="muted">No bastion is up.</p> : null}
      </Section>
      <p class="muted">
        <Status status="READY" /> sessions only; ending ones disappear within seconds.
      </p>
    </>
  );
}
