import { join } from 'node:path';
import { type AuditEvent, verifyChain } from '../lib/domain/audit.ts';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import {
  EventPage,
  type EventView,
  SessionPage,
  SessionStatus,
  SessionView,
} from './api-client.ts';
import {
  isRecorded,
  renderReady,
  type SshCommands,
  shellCommands,
  sshCommands,
  withCheckedConfig,
} from './connection-output.ts';
import type { Context } from './context.ts';
import { ExitCode, NotFoundError, UsageError } from './errors.ts';
import { clean, json, relativeTime, table } from './format.ts';
import {
  chooseLocalPort,
  discardKey,
  findSessionKey,
  pinHostKey,
  rememberedLocalPort,
  suggestedLocalPort,
} from './ssh.ts';

const STATUSES = Object.values(SessionStatus) as string[];

/**
 * An id that cannot be one is answered here, as the API would (404): it never reaches a URL
 * or, through the key directory, a file path.
 */
function sessionId(context: Context): string {
  const id = context.positionals[0] ?? '';
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError(`no session ${clean(id, 40)}`);
  return id;
}

const sessionPath = (id: string): string => `/sessions/${encodeURIComponent(id)}`;

function whenColumn(view: SessionView, now: number): string {
  if (view.status === SessionStatus.READY) return `expires ${relativeTime(view.expiresAt, now)}`;
  if (view.endedAt) return `ended ${relativeTime(view.endedAt, now)}`;
  return '-';
}

export async function list(context: Context): Promise<number> {
  const status = context.string('status')?.toUpperCase();
  if (status !== undefined && !STATUSES.includes(status)) {
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  }
  const limit = context.string('limit');
  if (limit !== undefined && !/^(100|[1-9]\d?)$/.test(limit)) {
    throw new UsageError('--limit must be a whole number from 1 to 100');
  }
  const query = new URLSearchParams();
  if (limit) query.set('limit', limit);
  if (context.flag('all')) query.set('all', 'true');
  const target = context.string('target');
  if (target) query.set('target', target);
  if (status) query.set('status', status);
  const cursor = context.string('cursor');
  if (cursor) query.set('cursor', cursor);
  const search = query.size > 0 ? `?${query}` : '';
  const client = await context.client();
  const { data: page } = await client.request('GET', `/sessions${search}`, SessionPage, {
    retries: 2,
  });
  for (const view of page.items) {
    if (view.status === SessionStatus.ENDED || view.status === SessionStatus.FAILED) {
      // Ended elsewhere (expired, revoked, by an admin): its key opens nothing any more.
      await discardKey(join(context.paths.keysDir, view.id));
    }
  }
  if (context.json) {
    context.out(json(page));
    return ExitCode.ok;
  }
  if (page.items.length === 0) {
    context.out('no sessions\n');
    return ExitCode.ok;
  }
  const now = Date.now();
  context.out(
    table(
      ['ID', 'TARGET', 'STATUS', 'OWNER', 'EXPIRES/ENDED', 'REASON'],
      page.items.map((view) => [
        view.id,
        clean(view.target, 64),
        clean(view.status, 16),
        clean(view.owner, 32),
        whenColumn(view, now),
        clean(view.reason, 40),
      ]),
    ),
  );
  if (page.cursor) context.out(`more: drawbridge ls --cursor ${page.cursor}\n`);
  return ExitCode.ok;
}

const FIELDS: [keyof SessionView & string, string][] = [
  ['status', 'status'],
  ['target', 'target'],
  ['mode', 'mode'],
  ['owner', 'owner'],
  ['sourceCidr', 'from'],
  ['reason', 'reason'],
  ['durationMinutes', 'minutes'],
  ['createdAt', 'requested'],
  ['provisioningDeadline', 'ready by'],
  ['readyAt', 'ready'],
  ['expiresAt', 'expires'],
  ['endedAt', 'ended'],
  ['endReason', 'end reason'],
  ['failureReason', 'failure'],
];

const secondsText = (seconds: number): string =>
  seconds < 10 ? `${seconds.toFixed(2)}s` : `${seconds.toFixed(1)}s`;

/** "12.3s: launch 0.05s (Drawbridge), running 6.1s (the cloud), ready 6.2s (boot and proof)" */
export function readinessBreakdown(phases: SessionView['timeToReady']): string | undefined {
  if (phases?.total === undefined) return undefined;
  const parts = (
    [
      ['launch', phases.launch, 'Drawbridge'],
      ['running', phases.running, 'the cloud'],
      ['ready', phases.ready, 'boot and proof'],
    ] as const
  ).flatMap(([name, value, who]) =>
    value === undefined ? [] : [`${name} ${secondsText(value)} (${who})`],
  );
  return `${secondsText(phases.total)}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

export async function show(context: Context): Promise<number> {
  const id = sessionId(context);
  const client = await context.client();
  const { data: view } = await client.request('GET', sessionPath(id), SessionView, { retries: 2 });
  const identityFile = await findSessionKey(context.paths.keysDir, view.id);
  const connection = view.status === SessionStatus.READY ? view.connection : undefined;
  const auth = {
    identityFile,
    knownHostsFile: join(context.paths.keysDir, view.id, 'known_hosts'),
  };
  if (connection) await pinHostKey(connection, auth.knownHostsFile);
  let commands: SshCommands | undefined;
  if (connection && isRecorded(connection)) {
    commands = shellCommands(view, connection, auth);
  } else if (connection) {
    // The port open chose (and a live forward may hold right now), else a free one.
    const localPort =
      (await rememberedLocalPort(context.paths.keysDir, view.id)) ??
      (await chooseLocalPort(suggestedLocalPort(connection)));
    commands = sshCommands(view, connection, localPort, auth);
  }
  if (context.json) {
    context.out(
      json({
        ...withCheckedConfig(view, commands),
        ...(identityFile ? { identityFile } : {}),
        ...(commands ? { ssh: commands } : {}),
      }),
    );
    return ExitCode.ok;
  }
  const rows = FIELDS.flatMap(([field, label]) => {
    const value = view[field];
    return value === undefined || value === ''
      ? []
      : [`  ${label.padEnd(11)}${clean(String(value), 500)}`];
  });
  const breakdown = readinessBreakdown(view.timeToReady);
  if (breakdown) rows.push(`  ${'to ready'.padEnd(11)}${breakdown}`);
  context.out(`${view.id}\n${rows.join('\n')}\n`);
  if (view.recording === 'full') {
    context.out(
      `  recorded   yes: everything shown in its terminal is kept (drawbridge replay ${view.id})\n`,
    );
  }
  if (connection && commands) {
    context.out(`\n${renderReady(view, connection, commands, identityFile, Date.now())}`);
  }
  return ExitCode.ok;
}

export async function end(context: Context): Promise<number> {
  const id = sessionId(context);
  const client = await context.client();
  const { data: view } = await client.request('DELETE', sessionPath(id), SessionView, {
    retries: 2,
  });
  if (view.status === SessionStatus.ENDED || view.status === SessionStatus.FAILED) {
    // The key opens nothing any more; it should not outlive its session on disk either.
    await discardKey(join(context.paths.keysDir, view.id));
  }
  if (context.json) {
    context.out(json(view));
    return ExitCode.ok;
  }
  context.out(
    view.status === SessionStatus.ENDING
      ? `${view.id} is ENDING; follow it with: drawbridge show ${view.id}\n`
      : `${view.id} ${clean(view.status, 16)}${view.endReason ? ` (${clean(view.endReason, 32)})` : ''}\n`,
  );
  return ExitCode.ok;
}

export type ChainCheck =
  | { status: 'intact'; events: number }
  | { status: 'broken'; brokenAt: number }
  | { status: 'unverifiable'; why: string };

type Detail = NonNullable<AuditEvent['detail']>;

function isDetail(value: unknown): value is Detail {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => ['string', 'number', 'boolean'].includes(typeof v))
  );
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * Recomputes the hash chain from what the API returned. The API renders `at` as ISO 8601 and
 * leaves out the session id; both go back to what was hashed (epoch ms, the id asked for).
 */
export function checkChain(sessionId: string, items: readonly EventView[]): ChainCheck {
  if (items.length === 0) return { status: 'unverifiable', why: 'no events' };
  const events: AuditEvent[] = [];
  for (const item of items) {
    const at = Date.parse(item.at);
    const { prevHash, hash, detail } = item;
    if (
      Number.isNaN(at) ||
      !Number.isInteger(item.seq) ||
      typeof prevHash !== 'string' ||
      typeof hash !== 'string' ||
      !HASH.test(prevHash) ||
      !HASH.test(hash) ||
      (detail !== undefined && !isDetail(detail))
    ) {
      return { status: 'unverifiable', why: `event ${item.seq} is not in the expected shape` };
    }
    events.push({
      sessionId,
      seq: item.seq,
      at,
      type: item.type,
      actor: item.actor,
      status: item.status,
      ...(detail !== undefined ? { detail } : {}),
      prevHash,
      hash,
    });
  }
  const result = verifyChain(events);
  return result.intact
    ? { status: 'intact', events: events.length }
    : { status: 'broken', brokenAt: result.brokenAt ?? 0 };
}

const describeDetail = (detail: EventView['detail']): string =>
  detail
    ? Object.entries(detail)
        .map(
          ([key, value]) =>
            `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
        )
        .join(' ')
    : '';

export async function events(context: Context): Promise<number> {
  const id = sessionId(context);
  const client = await context.client();
  const { data } = await client.request('GET', `${sessionPath(id)}/events`, EventPage, {
    retries: 2,
  });
  const chain = checkChain(id, data.items);
  const connections = data.connections ?? [];
  if (context.json) {
    context.out(json({ sessionId: id, items: data.items, connections, chain }));
    return ExitCode.ok;
  }
  context.out(
    table(
      ['SEQ', 'TIME', 'TYPE', 'ACTOR', 'STATUS', 'DETAIL'],
      data.items.map((event) => [
        String(event.seq),
        clean(event.at, 30),
        clean(event.type, 32),
        clean(event.actor, 32),
        clean(event.status, 16),
        clean(describeDetail(event.detail), 100),
      ]),
    ),
  );
  context.out(
    chain.status === 'intact'
      ? `hash chain intact (${chain.events} events)\n`
      : chain.status === 'broken'
        ? `hash chain BROKEN at event ${chain.brokenAt}: the trail was altered\n`
        : `hash chain unverifiable: ${chain.why}\n`,
  );
  context.out(
    connections.length === 0
      ? '\nconnections: none logged\n'
      : `\nconnections (the bastion's sshd log):\n${table(
          ['TIME', 'WHAT', 'FROM', 'USER', 'DETAIL'],
          connections.map((entry) => [
            entry.at ? clean(entry.at, 30) : '-',
            clean(entry.kind, 24),
            `${clean(entry.address, 45)}:${entry.port}`,
            clean(entry.user ?? '-', 32),
            clean(entry.target ? `to ${entry.target}` : entry.key ? `key ${entry.key}` : '', 100),
          ]),
        )}`,
  );
  return ExitCode.ok;
}
