import { constants } from 'node:os';
import { type ApiClient, SessionStatus, SessionView } from './api-client.ts';
import type { Context } from './context.ts';
import { ExitCode } from './errors.ts';
import { clean } from './format.ts';
import { discardKey } from './ssh.ts';

export async function revoke(
  context: Context,
  client: ApiClient,
  id: string,
  why: string,
): Promise<boolean> {
  if (!context.json) context.err(`${why}: revoking ${id}\n`);
  try {
    const { data } = await client.request(
      'DELETE',
      `/sessions/${encodeURIComponent(id)}`,
      SessionView,
      { retries: 2 },
    );
    if (!context.json) context.err(`${id} ${clean(data.status, 32)}\n`);
    return data.status === SessionStatus.ENDED || data.status === SessionStatus.FAILED;
  } catch (error) {
    context.err(
      `drawbridge: could not revoke ${id} (${(error as Error).message}); run drawbridge end ${id}\n`,
    );
    return false;
  }
}

const LIVE = new Set<string>([SessionStatus.READY, SessionStatus.ENDING]);

export interface ConnectionExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Ctrl-C reached drawbridge too */
  interrupted: boolean;
  /** the session's key directory, thrown away once the session is over */
  keyDir?: string | undefined;
}

/**
 * After ssh (or aws ssm start-session) returns under --connect. A session that ended under
 * the connection is told as such (when, why) and exits 0: its window closing is its ordinary
 * end, not the client's failure, even though the client saw its connection cut (255). Leaving
 * a live session ends it, as aws ssm start-session does, unless --keep.
 */
export async function afterConnection(
  context: Context,
  client: ApiClient,
  view: SessionView,
  exit: ConnectionExit,
): Promise<number> {
  const clientCode =
    exit.interrupted || exit.signal === 'SIGINT'
      ? ExitCode.interrupted
      : exit.signal
        ? 128 + (constants.signals[exit.signal] ?? 0)
        : (exit.code ?? ExitCode.unexpected);
  let now: SessionView;
  try {
    ({ data: now } = await client.request(
      'GET',
      `/sessions/${encodeURIComponent(view.id)}`,
      SessionView,
      { retries: 2 },
    ));
  } catch {
    // Unknown: say what is sure (how to end it), and let the client's code stand.
    context.err(
      `${view.id}: could not ask how it stands; end it with: drawbridge end ${view.id}\n`,
    );
    return clientCode;
  }
  const overdue =
    now.status === SessionStatus.READY && Date.parse(now.expiresAt ?? '') <= Date.now();
  if (!LIVE.has(now.status) || overdue) {
    await discardKey(exit.keyDir);
    const when = now.endedAt ?? now.expiresAt ?? '?';
    const why = now.endReason ?? (overdue ? 'expired' : now.failureReason ? 'failed' : 'ended');
    const failure =
      now.status === SessionStatus.FAILED
        ? `: ${clean(now.failureReason ?? 'no reason given', 300)}`
        : '';
    context.err(`${view.id} ended at ${clean(when, 40)} (${clean(why, 32)})${failure}\n`);
    return now.status === SessionStatus.FAILED ? ExitCode.sessionFailed : ExitCode.ok;
  }
  if (context.flag('keep')) {
    context.err(
      `${view.id} stays open until ${clean(now.expiresAt ?? '?', 40)} (--keep); end it now with: drawbridge end ${view.id}\n`,
    );
    return clientCode;
  }
  const revoked = await revoke(
    context,
    client,
    view.id,
    'connection closed (--keep keeps the session)',
  );
  if (revoked) await discardKey(exit.keyDir);
  return clientCode;
}
