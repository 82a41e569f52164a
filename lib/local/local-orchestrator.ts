import { mkdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppDeps } from '../app/deps.ts';
import { expireSession } from '../app/expire-session.ts';
import { noteIdleDisconnect } from '../app/idle.ts';
import { observeBastion, onLocalBastionRunning } from '../app/observe-bastion.ts';
import { BastionNotRunningYetError, onBastionLogLine } from '../app/prove-readiness.ts';
import { provisionSession } from '../app/provision-session.ts';
import { type ReapReport, reap } from '../app/reap.ts';
import { localDynamoClient } from '../aws/dynamodb-clients.ts';
import { DynamoDbSessionStore, documentClientFor } from '../aws/dynamodb-session-store.ts';
import { ensureTable } from '../aws/table-definition.ts';
import { consoleRoutes, httpRoutes } from '../composition/routes.ts';
import { UnrecordedBastionError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import { parsePolicy } from '../domain/policy-yaml.ts';
import { READINESS_MARKER } from '../domain/readiness.ts';
import { isLive, SessionStatus } from '../domain/session.ts';
import type { SignInSettings } from '../domain/sign-in-settings.ts';
import { SIGN_IN_PATH } from '../http/console-assets.ts';

import { type Clock, systemClock } from '../ports/clock.ts';

import type { Logger } from '../ports/logger.ts';
import { type DynamoServer, startDynamo } from './dynamo-server.ts';

import { FileAuditLog } from './file-audit-log.ts';

import { FileNotifier } from './file-notifier.ts';
import { FileRecordingStore } from './file-recording-store.ts';
import { FileSessionLog } from './file-session-log.ts';

import { InProcessQueue } from './in-process-queue.ts';
import { createJwtAuthorizer } from './jwt-authorizer.ts';
import type { Route } from './local-api.ts';
import { startLocalApi } from './local-api.ts';

import { LocalExpiryScheduler } from './local-expiry-scheduler.ts';
import {
  createLocalOidcProvider,
  type LocalOidcProvider,
  OIDC_PREFIX,
} from './local-oidc-provider.ts';
import { signInLocally } from './local-sign-in.ts';
import { type LocalUser, parseLocalUsers } from './local-users.ts';
import { RecordingWatcher } from './recording-watcher.ts';
import { SshdProvider } from './sshd-provider.ts';

export const LOCAL_TABLE = 'drawbridge-local';
/** The demo people of local mode's OpenID Provider, unless the caller names another file. */
export const DEFAULT_USERS_FILE = fileURLToPath(
  new URL('../../policy/local-users.yaml', import.meta.url),
);

const SIGNAL_ATTEMPTS = 50;
const SIGNAL_RETRY_MS = 100;

export interface LocalOptions {
  /** everything local mode keeps: table, issuer key, sshd sessions, logs */
  dataDir: string;
  policyFile: string;
  /** the demo users of the local OpenID Provider (policy/local-users.yaml by default) */
  usersFile?: string;
  /** the same, given inline (tests) */
  users?: readonly LocalUser[];
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
  /**
   * How many seconds a policy minute of idleTimeoutMinutes lasts on the local bastions: 60
   * by default. Tests shorten it, as they move the clock, to watch a real recorder close an
   * idle connection without waiting minutes; the policy keeps its real value.
   */
  idleSecondsPerMinute?: number;
  /**
   * The shell a recorded session's recorder starts, instead of the login shell of the user
   * Drawbridge runs as. Tests name a plain /bin/sh: a developer's login profile may take
   * seconds to read, and the recorder is the same either way.
   */
  recordedShell?: string;
}

export interface LocalOrchestrator {
  url: string;
  /** local mode's OpenID Provider: issuer, client id, audience and scopes */
  oidc: LocalOidcProvider;
  /**
   * Signs a demo user in through the provider (authorization code with PKCE, the login form
   * filled by a scripted user agent) and returns the API access token.
   */
  signIn(username: string, options?: { mfa?: boolean }): Promise<string>;
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
  const usersFile = options.usersFile ?? DEFAULT_USERS_FILE;
  const users = options.users ?? parseLocalUsers(readFileSync(usersFile, 'utf8'), usersFile);

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
  // A signal about a bastion the session has not recorded yet (it is still being launched) is
  // delivered again shortly, a few times, as EventBridge and the log subscription would retry.
  const deliver = (
    what: string,
    sessionId: string,
    send: () => Promise<unknown>,
    early: (error: unknown) => boolean,
    attempt = 1,
  ): void => {
    const run = send().catch((error: unknown) => {
      if (!early(error) || attempt >= SIGNAL_ATTEMPTS) {
        logger.error(what, { sessionId, error });
        return;
      }
      const timer = setTimeout(() => {
        signals.delete(timer);
        deliver(what, sessionId, send, early, attempt + 1);
      }, SIGNAL_RETRY_MS);
      timer.unref();
      signals.add(timer);
    });
    running.add(run);
    void run.finally(() => running.delete(run));
  };
  // The local EventBridge: the bastion's running signal goes to observeBastion.
  const deliverRunning = (sessionId: string): void =>
    deliver(
      'bastion signal failed',
      sessionId,
      () => onLocalBastionRunning(deps, sessionId),
      (error) => error instanceof UnrecordedBastionError,
    );
  // The local log sink: the readiness proof goes through the same use case as CloudWatch's
  // subscription delivers it to, from the session's own log (its stream).
  const deliverProof = (sessionId: string, line: string): void =>
    deliver(
      'readiness proof failed',
      sessionId,
      () => onBastionLogLine(deps, 'local', { stream: sessionId, message: line }),
      (error) =>
        error instanceof UnrecordedBastionError || error instanceof BastionNotRunningYetError,
    );
  const sessionLog = new FileSessionLog(dataDir);
  const recordings = new FileRecordingStore(dataDir);
  await recordings.prepare();
  const provider = new SshdProvider({
    dataDir,
    onLog: (sessionId, line) => {
      // sshd -e writes no times: the connection log gets them from when each line was seen.
      void sessionLog.stamp(sessionId, line, Date.now());
      logger.info('sshd', { correlation_id: sessionId, sshd: line });
      if (line.includes(READINESS_MARKER)) deliverProof(sessionId, line);
    },
    onBastionRunning: (sessionId) => deliverRunning(sessionId),
    ...(options.idleSecondsPerMinute ? { idleSecondsPerMinute: options.idleSecondsPerMinute } : {}),
    ...(options.recordedShell ? { recordedShell: options.recordedShell } : {}),
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

  // The provider's issuer is the API's origin + /oidc, known once the API listens: requests
  // that arrive before (none can, nobody knows the port yet) would get 503.
  let oidc: LocalOidcProvider | undefined;
  let authorize: ((token: string) => Promise<Record<string, unknown>>) | undefined;
  const api = await startLocalApi({
    routes: [...httpRoutes(() => ({ ...deps, groupsClaim: 'groups' })), ...consoleRoutes()],
    verify: async (token) => {
      if (!authorize) throw new Error('the local OpenID Provider is not ready');
      return authorize(token);
    },
    serveUnauthenticated: (request, response) => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      if (path === SIGN_IN_PATH && request.method === 'GET' && oidc) {
        response.writeHead(200, { 'content-type': 'application/json' });
        // the document a deployed stage publishes (functions/console.ts), for the local provider
        const settings: SignInSettings = {
          issuer: oidc.issuer,
          clientId: oidc.clientId,
          consoleClientId: oidc.consoleClientId,
          audience: oidc.audience,
          scopes: oidc.scopes,
        };
        response.end(JSON.stringify(settings));
        return true;
      }
      if (path !== OIDC_PREFIX && !path.startsWith(`${OIDC_PREFIX}/`)) return false;
      if (!oidc) {
        response.writeHead(503).end();
        return true;
      }
      oidc.handle(request, response);
      return true;
    },
    host: options.apiHost ?? '127.0.0.1',
    port: options.apiPort ?? 0,
    logger,
  });
  const identityProvider = await createLocalOidcProvider({
    dataDir,
    issuer: `${api.url}${OIDC_PREFIX}`,
    users,
  });
  oidc = identityProvider;
  authorize = createJwtAuthorizer({
    issuer: identityProvider.issuer,
    audience: identityProvider.audience,
  });
  const signIn = async (username: string, signInOptions: { mfa?: boolean } = {}) => {
    const user = users.find((candidate) => candidate.name === username);
    if (!user) throw new Error(`no local user ${username} in ${usersFile}`);
    const tokens = await signInLocally({ ...identityProvider, user, ...signInOptions });
    return tokens.access_token;
  };

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
    oidc: identityProvider,
    signIn,
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
const liveSessions = async (deps: AppDeps) =>
  (await deps.store.listDue(Number.MAX_SAFE_INTEGER, 10_000)).filter((session) =>
    isLive(session.status),
  );

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
