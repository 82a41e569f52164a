import { beforeEach, describe, expect, it } from 'vitest';
import { createGetRecordingHandler } from '../../functions/get-recording.ts';
import { createVerifyAuditHandler } from '../../functions/verify-audit.ts';
import { endSession } from '../../lib/app/end-session.ts';
import { reap } from '../../lib/app/reap.ts';
import { RECORDING_LATE_ARRIVAL_MS } from '../../lib/aws/cloudwatch-recording-reader.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { parseChunks, RECORDING_SEAL_DEADLINE_MS } from '../../lib/domain/recording-chain.ts';
import { type Session, SessionStatus } from '../../lib/domain/session.ts';
import type { ConnectionRecord } from '../../lib/domain/sshd-log.ts';
import type { HttpEvent } from '../../lib/http/http-handler.ts';
import type {
  RecordingReader,
  RecordingStep,
  StoredRecording,
} from '../../lib/ports/recording-reader.ts';
import type { SessionLog } from '../../lib/ports/session-log.ts';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { TEST_POLICY_YAML, type TestWorld, testWorld } from '../support/fakes.ts';
import { linkChunks } from '../support/recording-chunks.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

const POLICY = parsePolicy(
  `${TEST_POLICY_YAML}
  - name: recorded-shell
    mode: ec2
    host: 10.0.3.40
    port: 22
    access: shell
    recording: full
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
auditorGroups: [auditors]
`,
  'recording test policy',
);

/**
 * The log store as the recorder left it: lines in stored order, editable by the tests. By
 * default written where it is read (local); with a late arrival, shipped like ec2's agent.
 */
class MemoryRecordings implements RecordingReader {
  readonly lines = new Map<string, string[]>();
  /** sessions whose read stops before the end, as a reader at its page bound does */
  readonly partial = new Set<string>();
  readonly lateArrivalMs: number;
  constructor(lateArrivalMs = 0) {
    this.lateArrivalMs = lateArrivalMs;
  }
  read(session: Session): Promise<StoredRecording> {
    return Promise.resolve({
      kind: 'chunks',
      lines: [...(this.lines.get(session.id) ?? [])],
      partial: this.partial.has(session.id),
    });
  }
  readChunks(session: Session): Promise<RecordingStep> {
    return Promise.resolve({
      lines: (this.lines.get(session.id) ?? []).map((line) => ({ at: 0, line })),
      partial: this.partial.has(session.id),
    });
  }
}

class MemorySessionLog implements SessionLog {
  records: ConnectionRecord[] = [];
  connections(): Promise<ConnectionRecord[]> {
    return Promise.resolve(this.records);
  }
}

/** A recording as the recorder writes it: start, three outputs, end. */
function recordingOf(sessionId: string): string[] {
  return linkChunks(sessionId, [
    { kind: 'start', at: BASE_TIME, width: 100, height: 30, user: 'db-x', input: false },
    { kind: 'data', events: [[BASE_TIME + 1000, 'o', '$ uptime\r\n']] },
    { kind: 'data', events: [[BASE_TIME + 2000, 'o', 'up 3 days\r\n']] },
    { kind: 'data', events: [[BASE_TIME + 3000, 'o', '$ exit\r\n']] },
    { kind: 'end', at: BASE_TIME + 4000, reason: 'exit' },
  ]).map((chunk) => JSON.stringify(chunk));
}

let world: TestWorld;
let recordings: MemoryRecordings;
let sessionLog: MemorySessionLog;
const deps = () => ({ ...world.deps, recordings, sessionLog, groupsClaim: 'groups' });
const getRecording = createGetRecordingHandler(deps);
const verifyAudit = createVerifyAuditHandler(deps);

beforeEach(() => {
  world = testWorld(POLICY);
  recordings = new MemoryRecordings();
  sessionLog = new MemorySessionLog();
});

async function readySession(overrides: Partial<Session> = {}): Promise<Session> {
  const session = makeSession({
    target: 'recorded-shell',
    mode: 'ec2',
    owner: 'alice',
    recording: 'full',
    ...overrides,
  });
  const created = await world.store.create(session, {
    quota: 5,
    event: { type: 'requested', actor: 'alice' },
  });
  return created.session;
}

/** A recorded session that ran, recorded, and ended the way the use case ends it. */
async function endedRecordedSession(): Promise<Session> {
  const session = await readySession();
  recordings.lines.set(session.id, recordingOf(session.id));
  return endSession({ ...world.deps, recordings }, session, {
    reason: 'expired',
    actor: 'drawbridge',
  });
}

const as = (sub: string, groups: string, id: string, query?: Record<string, string>) =>
  httpEvent('get-recording', (event: HttpEvent) => {
    event.requestContext.authorizer.jwt.claims.sub = sub;
    event.requestContext.authorizer.jwt.claims.groups = groups;
    event.pathParameters = { id };
    if (query) event.queryStringParameters = query;
  });

async function verify(id: string) {
  const result = await verifyAudit(as('alice', '[dba]', id), lambdaContext);
  return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') };
}

describe('the recording chain head on the session', () => {
  it('is written in the ended transition where the recording is read where it is written (local), with whether it closed', async () => {
    const ended = await endedRecordedSession();
    const last = parseChunks(recordings.lines.get(ended.id) ?? []).at(-1);
    expect(ended.status).toBe('ENDED');
    expect(ended.recordingHead).toEqual({ seq: 5, hash: last?.hash, closed: true });
    expect(ended.recordingSettle).toBeUndefined();
    expect((await world.store.get(ended.id))?.recordingHead).toEqual(ended.recordingHead);
  });

  it('is not taken from a read that stopped before the end: the reaper seals the recording instead', async () => {
    const session = await readySession();
    recordings.lines.set(session.id, recordingOf(session.id));
    recordings.partial.add(session.id);
    const ended = await endSession({ ...world.deps, recordings }, session, {
      reason: 'expired',
      actor: 'drawbridge',
    });
    expect(ended.recordingHead).toBeUndefined();
    expect(ended.recordingSettle).toBeDefined();
  });

  it('is absent for a session that was not recorded', async () => {
    const session = await readySession({ recording: 'metadata' });
    recordings.lines.set(session.id, recordingOf(session.id));
    const ended = await endSession({ ...world.deps, recordings }, session, {
      reason: 'expired',
      actor: 'drawbridge',
    });
    expect(ended.recordingHead).toBeUndefined();
  });
});

describe('GET /sessions/{id}/audit includes the recording', () => {
  it('says intact when every chunk, link and the stored head check out', async () => {
    const ended = await endedRecordedSession();
    const { status, body } = await verify(ended.id);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      intact: true,
      recording: { intact: true, chunks: 5, complete: true, headStored: true, ending: 'closed' },
    });
  });

  const tamper: [string, (lines: string[]) => string[], string][] = [
    [
      'one chunk altered',
      (lines) => lines.map((line, i) => (i === 2 ? line.replace('up 3 days', 'up 9 days') : line)),
      'altered',
    ],
    ['one chunk removed', (lines) => lines.filter((_, i) => i !== 2), 'missing'],
    [
      'two chunks swapped',
      (lines) => [lines[0], lines[2], lines[1], lines[3], lines[4]].map(String),
      'reordered',
    ],
    ['the recording cut short', (lines) => lines.slice(0, 3), 'truncated'],
  ];
  it.each(tamper)('%s is caught, and the whole verdict is broken', async (_what, edit, problem) => {
    const ended = await endedRecordedSession();
    recordings.lines.set(ended.id, edit(recordings.lines.get(ended.id) ?? []));
    const { status, body } = await verify(ended.id);
    expect(status).toBe(200);
    expect(body.intact).toBe(false);
    // The trail itself is fine: only the recording is named.
    expect(body.brokenAt).toBeUndefined();
    expect(body.recording).toMatchObject({ intact: false, problem });
  });
});

describe('a recording too long to read whole (the reader stopped at its bound)', () => {
  it('is reported partial by verify, never intact, and not truncated against a head its beginning does not reach', async () => {
    const ended = await endedRecordedSession();
    recordings.lines.set(ended.id, (recordings.lines.get(ended.id) ?? []).slice(0, 3));
    recordings.partial.add(ended.id);
    const { status, body } = await verify(ended.id);
    expect(status).toBe(200);
    expect(body.intact).toBe(false);
    expect(body.brokenAt).toBeUndefined();
    expect(body.recording).toMatchObject({
      intact: false,
      chunks: 3,
      complete: false,
      problem: 'partial',
      ending: 'partial',
    });
    expect(body.recording.detail).toContain('only the first 3 chunks');
  });

  it('still names a problem within the part it could read', async () => {
    const ended = await endedRecordedSession();
    const lines = recordings.lines.get(ended.id) ?? [];
    recordings.lines.set(ended.id, [lines[0], lines[2]].map(String));
    recordings.partial.add(ended.id);
    expect((await verify(ended.id)).body.recording).toMatchObject({
      intact: false,
      problem: 'missing',
      ending: 'partial',
    });
  });

  it('is served as its beginning with the header saying partial, and the replay is audited as partial', async () => {
    const ended = await endedRecordedSession();
    recordings.lines.set(ended.id, (recordings.lines.get(ended.id) ?? []).slice(0, 3));
    recordings.partial.add(ended.id);
    const result = await getRecording(as('alice', '[dba]', ended.id), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['drawbridge-recording']).toBe('partial');
    expect(result.body).toContain('up 3 days');
    expect((await world.store.listEvents(ended.id)).at(-1)).toMatchObject({
      type: 'recording-viewed',
      detail: { intact: false, partial: true },
    });
  });

  it('says partial for Session Manager output too', async () => {
    const session = await readySession({ target: 'prod-db', mode: 'ssm', recording: 'metadata' });
    const terminal = {
      read: () =>
        Promise.resolve({
          kind: 'terminal' as const,
          output: [{ at: BASE_TIME, text: 'sh-5.2$ whoami' }],
          partial: true,
        }),
      readChunks: () => Promise.resolve({ lines: [], partial: false }),
      lateArrivalMs: 0,
    };
    const handler = createGetRecordingHandler(() => ({
      ...world.deps,
      recordings: terminal,
      sessionLog,
      groupsClaim: 'groups',
    }));
    const result = await handler(as('alice', '[dba]', session.id), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['drawbridge-recording-kind']).toBe('terminal');
    expect(result.headers?.['drawbridge-recording']).toBe('partial');
  });
});

describe('ec2: the head is stored once the recording settled, not when the bastion is released', () => {
  // The agent ships the recorder's file every 5 s: the end chunk of the connection the
  // termination cut (and whatever was in its buffer) arrives after the release.
  let shipped: MemoryRecordings;
  const cloud = () => ({ ...world.deps, recordings: shipped });
  const verifyShipped = createVerifyAuditHandler(() => ({ ...cloud(), groupsClaim: 'groups' }));
  const verifyEc2 = async (id: string) =>
    JSON.parse((await verifyShipped(as('alice', '[dba]', id), lambdaContext)).body ?? 'null');

  /** A recorded ec2 session ended while its connection was open: the end chunk is not in yet. */
  async function endedWithConnectionOpen(): Promise<{ session: Session; end: string }> {
    shipped = new MemoryRecordings(RECORDING_LATE_ARRIVAL_MS);
    const session = await readySession();
    const lines = recordingOf(session.id);
    const end = lines.pop() ?? '';
    shipped.lines.set(session.id, lines);
    const ended = await endSession(cloud(), session, { reason: 'expired', actor: 'drawbridge' });
    return { session: ended, end };
  }

  it('an end chunk arriving after the termination is part of the recording, not appended to it', async () => {
    const { session, end } = await endedWithConnectionOpen();
    expect(session.status).toBe('ENDED');
    expect(session.recordingHead).toBeUndefined();
    expect(session.recordingSettle?.checkAt).toBe(world.clock.now() + RECORDING_LATE_ARRIVAL_MS);

    shipped.lines.get(session.id)?.push(end);
    // Until it settles, verify says so instead of judging against a head it does not have.
    expect((await verifyEc2(session.id)).recording).toMatchObject({
      intact: true,
      headStored: false,
      ending: 'settling',
      settledBy: session.recordingSettle?.deadline,
    });
    expect((await reap(cloud())).recordingsSealed).toBe(0);

    world.clock.advance(RECORDING_LATE_ARRIVAL_MS);
    expect((await reap(cloud())).recordingsSealed).toBe(1);
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toEqual({
      seq: 5,
      hash: parseChunks([end])[0]?.hash,
      closed: true,
    });
    expect(sealed?.recordingSettle).toBeUndefined();
    expect((await world.store.listEvents(session.id)).at(-1)).toMatchObject({
      type: 'recording-sealed',
      detail: { chunks: 5, closed: true },
    });
    const verdict = await verifyEc2(session.id);
    expect(verdict.intact).toBe(true);
    expect(verdict.recording).toMatchObject({
      intact: true,
      chunks: 5,
      complete: true,
      headStored: true,
      ending: 'closed',
    });
    // Sealed once: the next sweeps do not look at it again.
    world.clock.advance(RECORDING_SEAL_DEADLINE_MS);
    expect((await reap(cloud())).recordingsSealed).toBe(0);
  });

  it('a killed bastion, whose recorder never wrote its end, is reported cut short once the deadline passed', async () => {
    const { session } = await endedWithConnectionOpen();
    world.clock.advance(RECORDING_LATE_ARRIVAL_MS);
    // Not closed: the end may still be on its way, so the reaper waits for it.
    expect((await reap(cloud())).recordingsSealed).toBe(0);
    expect((await world.store.get(session.id))?.recordingHead).toBeUndefined();

    world.clock.advance(RECORDING_SEAL_DEADLINE_MS);
    expect((await reap(cloud())).recordingsSealed).toBe(1);
    const sealed = await world.store.get(session.id);
    expect(sealed?.recordingHead).toMatchObject({ seq: 4, closed: false });
    const verdict = await verifyEc2(session.id);
    expect(verdict.recording).toMatchObject({
      intact: true,
      chunks: 4,
      complete: false,
      headStored: true,
      ending: 'cut-short',
    });

    // And what was shipped is still held to its head: cutting it further is caught.
    shipped.lines.set(session.id, (shipped.lines.get(session.id) ?? []).slice(0, 2));
    expect((await verifyEc2(session.id)).recording).toMatchObject({
      intact: false,
      problem: 'truncated',
    });
  });

  it('a recording that closed before the end is sealed at the first look', async () => {
    shipped = new MemoryRecordings(RECORDING_LATE_ARRIVAL_MS);
    const session = await readySession();
    shipped.lines.set(session.id, recordingOf(session.id));
    await endSession(cloud(), session, { reason: 'revoked', actor: 'alice' });
    world.clock.advance(RECORDING_LATE_ARRIVAL_MS);
    await reap(cloud());
    expect((await world.store.get(session.id))?.recordingHead).toMatchObject({
      seq: 5,
      closed: true,
    });
  });
});

describe('GET /sessions/{id}/recording', () => {
  it('gives the owner asciicast v2 and records the replay in the trail, with the viewer', async () => {
    const ended = await endedRecordedSession();
    const before = (await world.store.listEvents(ended.id)).length;
    const result = await getRecording(as('alice', '[dba]', ended.id), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toContain('application/x-asciicast');
    expect(result.headers?.['drawbridge-recording']).toBe('intact');
    const [header, ...events] = (result.body ?? '').trim().split('\n');
    expect(JSON.parse(header ?? '{}')).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(events.map((line) => JSON.parse(line))).toContainEqual([2, 'o', 'up 3 days\r\n']);
    const trail = await world.store.listEvents(ended.id);
    expect(trail).toHaveLength(before + 1);
    expect(trail.at(-1)).toMatchObject({
      type: 'recording-viewed',
      actor: 'alice',
      detail: { format: 'asciicast', intact: true },
    });
    // The replay joins the chain: the trail still verifies.
    expect((await verify(ended.id)).body.intact).toBe(true);
  });

  it.each([
    ['an auditor', 'carol', '[auditors]'],
    ['an admin', 'dave', '[drawbridge-admins]'],
  ])('lets %s replay, and audits it under their name', async (_who, sub, groups) => {
    const ended = await endedRecordedSession();
    const result = await getRecording(as(sub, groups, ended.id), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect((await world.store.listEvents(ended.id)).at(-1)).toMatchObject({
      type: 'recording-viewed',
      actor: sub,
    });
  });

  it('answers 404 to anyone else, and records nothing', async () => {
    const ended = await endedRecordedSession();
    const before = await world.store.listEvents(ended.id);
    const result = await getRecording(as('mallory', '[dba]', ended.id), lambdaContext);
    expect(result.statusCode).toBe(404);
    expect(result.body).not.toContain('up 3 days');
    expect(await world.store.listEvents(ended.id)).toEqual(before);
  });

  it('?format=text is plain text stamped with UTC times, for grep', async () => {
    const ended = await endedRecordedSession();
    const result = await getRecording(
      as('alice', '[dba]', ended.id, { format: 'text' }),
      lambdaContext,
    );
    expect(result.headers?.['content-type']).toContain('text/plain');
    expect(result.body).toContain(`${new Date(BASE_TIME + 2000).toISOString()}  up 3 days`);
  });

  it('refuses an unknown format with a 400 that says which ones exist', async () => {
    const ended = await endedRecordedSession();
    const result = await getRecording(
      as('alice', '[dba]', ended.id, { format: 'mp4' }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(400);
    expect(result.body).toContain('format must be one of asciicast, text');
  });

  it('says in a header when the chain is broken, and still plays what is there', async () => {
    const ended = await endedRecordedSession();
    recordings.lines.set(ended.id, (recordings.lines.get(ended.id) ?? []).slice(0, 3));
    const result = await getRecording(as('alice', '[dba]', ended.id), lambdaContext);
    expect(result.headers?.['drawbridge-recording']).toBe('truncated');
    expect(result.body).toContain('up 3 days');
  });

  it('does not call a recording intact whose session settled without a head, as verify does not', async () => {
    // an ended session that stored no head and is not settling (sealed headless before, or
    // from before heads were stored): its chunks link, but nothing holds its end
    const session = await readySession({ status: SessionStatus.ENDED, endedAt: Date.now() });
    recordings.lines.set(session.id, recordingOf(session.id));
    const result = await getRecording(as('alice', '[dba]', session.id), lambdaContext);
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['drawbridge-recording']).toBe('unsealed');
    expect((await verify(session.id)).body.recording).toMatchObject({ problem: 'unsealed' });
  });

  it("plays a jump-only session's connections and forwards as its recording", async () => {
    const session = await readySession({ target: 'prod-db', recording: 'metadata' });
    sessionLog.records = [
      { kind: 'connected', at: BASE_TIME, address: '203.0.113.9', port: 50022 },
      {
        kind: 'refused-forward',
        at: BASE_TIME + 5000,
        address: '203.0.113.9',
        port: 50022,
        target: '10.9.9.9:22',
      },
      { kind: 'disconnected', at: BASE_TIME + 9000, address: '203.0.113.9', port: 50022 },
    ];
    const result = await getRecording(
      as('alice', '[dba]', session.id, { format: 'text' }),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['drawbridge-recording-kind']).toBe('connections');
    expect(result.body).toContain('connection opened from 203.0.113.9 port 50022');
    expect(result.body).toContain('forward to 10.9.9.9:22 refused');
    expect(result.body).toContain(
      `${new Date(BASE_TIME + 9000).toISOString()}  # connection closed`,
    );
  });
});
