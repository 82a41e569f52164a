import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { AppDeps } from '../app/deps.ts';
import { expireSession } from '../app/expire-session.ts';
import { noteIdleDisconnect } from '../app/idle.ts';
import {
  observeBastion,
  onLocalBastionRunning,
  UnrecordedBastionError,
} from '../app/observe-bastion.ts';
import { provisionSession } from '../app/provision-session.ts';
import { type ReapReport, reap } from '../app/reap.ts';
import { localDynamoClient } from '../aws/dynamodb-clients.ts';
import { DynamoDbSessionStore, documentClientFor } from '../aws/dynamodb-session-store.ts';
import { ensureTable } from '../aws/table-definition.ts';
import { httpRoutes } from '../composition/routes.ts';
import { type Policy, parsePolicy } from '../domain/policy.ts';
import { SessionStatus } from '../domain/session.ts';
import { type Clock, systemClock } from '../ports/clock.ts';
import type { Logger } from '../ports/logger.ts';
import { type DynamoServer, startDynamo } from './dynamo-server.ts';
import { FileAuditLog } from './file-audit-log.ts';
import { FileNotifier } from './file-notifier.ts';
import { FileRecordingStore } from './file-recording-store.ts';
import { FileSessionLog } from './file-session-log.ts';
import { InProcessQueue } from './in-process-queue.ts';
import type { Route } from './local-api.ts';
import { startLocalApi } from './local-api.ts';
import { LocalExpiryScheduler } from './local-expiry-scheduler.ts';
import { LocalIssuer } from './local-issuer.ts';
import { RecordingWatcher } from './recording-watcher.ts';
import { SshdProvider } from './sshd-provider.ts';

export const LOCAL_TABLE = 'drawbridge-local';
const SIGNAL_ATTEMPTS = 50;
const SIGNAL_RETRY_MS = 100;

export interface LocalOptions {
  /** everything local mode keeps: table, issuer key, sshd sessions, logs */
  dataDir: string;
  policyFile: string;
  apiPort?: number;
  apiHost?: string;
  /** the reaper's period; a minute in AWS */
  reapIntervalMs?: number;
  /** how often live local bastions are checked for an sshd that died */
  watchIntervalMs?: number;
  logger: Logger;
  /** echo of audit events (npm start prints them) */
  onAudit?: (line: string) => void;
  /**
   * The orchestrator's time (windows, deadlines, layer 2 timers, the reaper); the system clock
   * by default. Tests move it instead of waiting; sshd and the key's expiry-time keep real time.
   */
  clock?: Clock;
}

export interface LocalOrchestrator {
  url: string;
  issuer: LocalIssuer;
  deps: AppDeps;
  policy: Policy;
  reapNow(): Promise<ReapReport>;
  stop(): Promise<void>;
}

/** The API's routes and paths, for tests that compare them with the OpenAPI document. */
export const ROUTES: Route[] = httpRoutes(() => {
  throw new Error('ROUTES lists the routes; serve them with httpRoutes(deps)');
});

/**
 * The whole orchestrator on one machine: dynalite as the table, real sshd bastions, the
 * same handlers and use cases as Lambda, a timer per session for layer 2 and the reaper on
 * its period for layer 3. Survives restarts: sshd processes are detached and re-adopted,
 * timers are re-armed from the table, anything overdue or orphaned is reaped at start.
 */
export async function startLocalOrchestrator(options: LocalOptions): Promise<LocalOrchestrator> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const policy = parsePolicy(readFileSync(options.policyFile, 'utf8'), options.policyFile);
  const logger = options.logger;
  const clock = options.clock ?? systemClock;

  const dynamo: DynamoServer = await startDynamo({ path: join(dataDir, 'dynamo') });
  const client = localDynamoClient(dynamo.endpoint);
  await ensureTable(client, LOCAL_TABLE);
  const issuer = await LocalIssuer.open(dataDir);

  let deps: AppDeps;
  const scheduler = new LocalExpiryScheduler(
    (id) =>
      expireSession(deps, id).catch((error: unknown) =>
        logger.error('expire failed', { sessionId: id, error }),
      ),
    () => clock.now(),
  );
  // Failures propagate to the queue, which redelivers and then dead-letters like SQS.
  const queue = new InProcessQueue((id) => provisionSession(deps, id), { logger });
  // Background work still running when stop() is called finishes before the table closes.
  const running = new Set<Promise<unknown>>();
  const signals = new Set<NodeJS.Timeout>();
  // The local EventBridge: the bastion's running signal goes to observeBastion, and is
  // delivered again shortly while the session has not recorded its bastion yet.
  const deliverRunning = (sessionId: string, attempt = 1): void => {
    const run = onLocalBastionRunning(deps, sessionId).catch((error: unknown) => {
      if (!(error instanceof UnrecordedBastionError) || attempt >= SIGNAL_ATTEMPTS) {
        logger.error('bastion signal failed', { sessionId, error });
        return;
      }
      const timer = setTimeout(() => {
        signals.delete(timer);
        deliverRunning(sessionId, attempt + 1);
      }, SIGNAL_RETRY_MS);
      timer.unref();
      signals.add(timer);
    });
    running.add(run);
    void run.finally(() => running.delete(run));
  };
  const sessionLog = new FileSessionLog(dataDir);
  const recordings = new FileRecordingStore(dataDir);
  await recordings.prepare();
  const provider = new SshdProvider({
    dataDir,
    onLog: (sessionId, line) => {
      // sshd -e writes no times: the connection log gets them from when each line was seen.
      void sessionLog.stamp(sessionId, line, Date.now());
      logger.info('sshd', { correlation_id: sessionId, sshd: line });
    },
    onBastionRunning: (sessionId) => deliverRunning(sessionId),
  });
  deps = {
    policy,
    store: new DynamoDbSessionStore({
      client: documentClientFor(client),
      tableName: LOCAL_TABLE,
      retentionDays: policy.retentionDays,
      clock,
    }),
    providers: { local: provider },
    scheduler,
    queue,
    auditLog: new FileAuditLog(join(dataDir, 'logs', 'audit.jsonl'), options.onAudit),
    // Break-glass alerts and session notices, as SNS subscribers would get them.
    notifier: new FileNotifier(join(dataDir, 'logs', 'notifications.jsonl'), (line) =>
      logger.warn('notification', { notification: line }),
    ),
    clock,
    logger,
    sessionLog,
    recordings,
  };

  await recover(deps, scheduler);
  const reapNow = async () => {
    const report = await reap(deps);
    if (
      report.expired + report.failed + report.resumed + report.orphansDestroyed + report.errors >
      0
    )
      logger.info('reaper sweep', { report });
    return report;
  };
  await reapNow();

  const api = await startLocalApi({
    routes: httpRoutes(() => ({ ...deps, groupsClaim: 'groups' })),
    verify: async (token) => ({ ...(await issuer.verify(token)) }),
    host: options.apiHost ?? '127.0.0.1',
    port: options.apiPort ?? 0,
    logger,
  });

  const track = (work: () => Promise<unknown>, what: string): void => {
    const run = work()
      .catch((error: unknown) => logger.error(`${what} failed`, { error }))
      .finally(() => running.delete(run));
    running.add(run);
  };
  let watching = false;
  const watchTimer = setInterval(() => {
    if (watching) return;
    watching = true;
    track(
      () =>
        watchBastions(deps).finally(() => {
          watching = false;
        }),
      'bastion watch',
    );
  }, options.watchIntervalMs ?? 1_000);
  const reapTimer = setInterval(() => track(reapNow, 'reaper'), options.reapIntervalMs ?? 60_000);
  // A recorder that closed a connection for inactivity: the trail says so, the session ends
  // (unless the target says idleEndsSession: false).
  const idleWatcher = new RecordingWatcher(recordings.dir, (sessionId, connection) =>
    track(() => noteIdleDisconnect(deps, sessionId, connection), 'idle disconnect'),
  );
  await idleWatcher.start();

  return {
    url: api.url,
    issuer,
    deps,
    policy,
    reapNow,
    async stop() {
      clearInterval(watchTimer);
      clearInterval(reapTimer);
      idleWatcher.stop();
      for (const timer of signals) clearTimeout(timer);
      scheduler.stop();
      await queue.stop();
      await Promise.all([...running]);
      await closeServer(api.server);
      client.destroy();
      await dynamo.close();
    },
  };
}

/** Every live session, from the sparse index (local mode is small: this is the whole fleet). */
const liveSessions = (deps: AppDeps) => deps.store.listDue(Number.MAX_SAFE_INTEGER, 10_000);

/** After a restart: re-arm layer 2 for every READY session; the first reap handles the rest. */
async function recover(deps: AppDeps, scheduler: LocalExpiryScheduler): Promise<void> {
  for (const session of await liveSessions(deps)) {
    if (session.status === SessionStatus.READY) await scheduler.schedule(session);
    // REQUESTED, or PROVISIONING with no bastion on record (killed mid-launch): resume.
    const unlaunched =
      session.status === SessionStatus.PROVISIONING &&
      session.resources.pid === undefined &&
      session.mode === 'local';
    if (session.status === SessionStatus.REQUESTED || unlaunched)
      await deps.queue.enqueue(session.id);
  }
  await watchBastions(deps);
}

/**
 * The local twin of EC2's state-change events, as a sweep: an sshd that died from outside
 * ends its session, and a recorded bastion whose running signal was lost (a restart between
 * launch and signal) is reported running.
 */
async function watchBastions(deps: AppDeps): Promise<void> {
  const provider = deps.providers.local;
  if (!provider) return;
  for (const session of await liveSessions(deps)) {
    const recorded = session.status === SessionStatus.PROVISIONING && session.resources.pid;
    if (session.status !== SessionStatus.READY && !recorded) continue;
    const state = await provider.inspect(session);
    if (state.state === 'gone' && session.status === SessionStatus.READY)
      await observeBastion(deps, session, 'gone');
    if (state.state === 'running' && recorded) await observeBastion(deps, session, 'running');
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.closeAllConnections();
    server.close(() => resolveClose());
  });
}
