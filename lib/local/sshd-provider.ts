import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, ProvisioningError } from '../domain/errors.ts';
import { type IssuedHostKey, sshFingerprint } from '../domain/host-key.ts';
import { bannerOf } from '../domain/policy.ts';
import { readinessLine } from '../domain/readiness.ts';
import { type Connection, isSessionId, type Session } from '../domain/session.ts';
import { bannerFileContent } from '../domain/sshd-hardening.ts';
import type {
  BastionState,
  DestroyOutcome,
  ExtendPlan,
  LaunchPlan,
  LaunchResult,
  OwnedResource,
  Provider,
} from '../ports/provider.ts';
import {
  commandLine,
  errnoCode,
  execFileAsync,
  isAlive,
  processInfo,
  processSignal,
  type Signaller,
  terminateTree,
  waitUntil,
} from './bastion-processes.ts';
import { FileRecordingStore, findPython, RECORDER_PATH } from './file-recording-store.ts';
import { freePort } from './free-port.ts';
import { gist, LogTail } from './log-tail.ts';
import { buildSshdConfig } from './sshd-config.ts';
import { strictModesFor } from './sshd-host.ts';

export interface SshdProviderOptions {
  /** absolute; each session lives in <dataDir>/sessions/<sessionId>/ */
  dataDir: string;
  /** absolute: sshd re-executes itself for every connection and refuses a relative path */
  sshdPath?: string;
  sshKeygenPath?: string;
  /** reads back the host key sshd serves, for the readiness proof */
  sshKeyscanPath?: string;
  /** the address sshd binds, and the bastion host handed to the caller */
  listenHost?: string;
  /** every line sshd logs, as it is written to <sessionDir>/sshd.log */
  onLog?: (sessionId: string, line: string) => void;
  /** how long sshd may take to start listening */
  startTimeoutMs?: number;
  /**
   * The local twin of EC2's state-change event: called once a session's sshd listens (also
   * when a retried launch finds it already running), after launch has returned, so the
   * orchestrator can take the session to READY through observeBastion as the cloud does.
   */
  onBastionRunning?: (sessionId: string) => void;
  /** sends a signal; injected by tests to play a kill that does not take */
  signal?: (pid: number, name: NodeJS.Signals) => void;
  /** the python3 that runs the recorder (recorded targets); found by findPython when absent */
  pythonPath?: string;
  /** seconds per policy minute of idleTimeoutMinutes: 60, shortened by tests */
  idleSecondsPerMinute?: number;
  /** the shell the recorder starts instead of the user's login shell (tests: a fast /bin/sh) */
  recordedShell?: string;
}

/** What <sessionDir>/pid holds: enough to find the process again after Drawbridge restarts. */
interface PidRecord {
  pid: number;
  sessionId: string;
  startedAt: number;
  /** the kernel's start time of the process (Linux), so a reused pid is never taken for ours */
  procStart?: string;
  /** present once sshd listens */
  connection?: Connection;
}

interface SessionPaths {
  dir: string;
  config: string;
  hostKey: string;
  authorizedKeys: string;
  banner: string;
  sshdPid: string;
  pidRecord: string;
  log: string;
}

const START_ATTEMPTS = 3;

export { findSshd, SSHD_MISSING_MESSAGE } from './sshd-host.ts';

export { sshFingerprint };

// ---------------------------------------------------------------------------------------------

/**
 * Local mode: each session is a real OpenSSH sshd, started by Drawbridge on a free port with an
 * ephemeral host key, the hardened config of lib/local/sshd-config.ts and the session's one
 * authorized key. Linux users cannot be created here, so the session logs in as the OS user
 * that runs Drawbridge (the session's own linuxUser exists only on ec2 bastions).
 */
export class SshdProvider implements Provider {
  readonly mode = 'local' as const;
  private readonly sessionsDir: string;
  private readonly sshdPath: string;
  private readonly sshKeygenPath: string;
  private readonly sshKeyscanPath: string;
  private readonly listenHost: string;
  private readonly onLog: ((sessionId: string, line: string) => void) | undefined;
  private readonly startTimeoutMs: number;
  private readonly tails = new Map<string, LogTail>();
  private readonly onBastionRunning: ((sessionId: string) => void) | undefined;
  private readonly signal: Signaller;
  private readonly recordings: FileRecordingStore;
  private readonly pythonPath: string | undefined;
  private readonly idleSecondsPerMinute: number;
  private readonly recordedShell: string | undefined;
  /** per session: launch, extend and release never interleave (an extension racing a release
   * could otherwise put the key file back after release removed it) */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: SshdProviderOptions) {
    if (!isAbsolute(options.dataDir)) {
      throw new ConfigError('the local data directory must be an absolute path');
    }
    const sshdPath = options.sshdPath ?? '/usr/sbin/sshd';
    if (!isAbsolute(sshdPath)) {
      throw new ConfigError('sshdPath must be absolute: sshd refuses to re-execute otherwise');
    }
    this.sessionsDir = join(options.dataDir, 'sessions');
    this.sshdPath = sshdPath;
    this.sshKeygenPath = options.sshKeygenPath ?? 'ssh-keygen';
    this.sshKeyscanPath = options.sshKeyscanPath ?? 'ssh-keyscan';
    this.listenHost = options.listenHost ?? '127.0.0.1';
    this.onLog = options.onLog;
    this.startTimeoutMs = options.startTimeoutMs ?? 5000;
    this.onBastionRunning = options.onBastionRunning;
    this.signal = options.signal ?? processSignal;
    this.recordings = new FileRecordingStore(options.dataDir);
    this.pythonPath = options.pythonPath ?? findPython();
    this.idleSecondsPerMinute = options.idleSecondsPerMinute ?? 60;
    this.recordedShell = options.recordedShell;
  }

  /**
   * A recorded target's sessions run the recorder as sshd's forced command, configured by a
   * file in the session directory: the sink in the local log store, input, idle timeout.
   */
  private async recorderCommand(
    plan: LaunchPlan,
    paths: SessionPaths,
  ): Promise<string | undefined> {
    if (plan.target.recording !== 'full') return undefined;
    if (!this.pythonPath) {
      throw new ProvisioningError('python3 is not installed: the session recorder needs it');
    }
    await this.recordings.prepare();
    const configPath = join(paths.dir, 'recording.json');
    const config = {
      sessionId: plan.session.id,
      sink: this.recordings.sinkPath(plan.session.id),
      recordInput: plan.target.recordInput,
      ...(this.recordedShell ? { shell: this.recordedShell } : {}),
      ...(plan.target.idleTimeoutMinutes
        ? { idleSeconds: plan.target.idleTimeoutMinutes * this.idleSecondsPerMinute }
        : {}),
    };
    await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
    // -I, as the image's shebang: no PYTHON* variable or user site directory steers it.
    return `${this.pythonPath} -I ${RECORDER_PATH} --config ${configPath}`;
  }

  private exclusive<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sessionId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    this.locks.set(sessionId, settled);
    void settled.then(() => {
      if (this.locks.get(sessionId) === settled) this.locks.delete(sessionId);
    });
    return run;
  }

  /**
   * Asynchronously, as EC2's event arrives after RunInstances has answered; then the bastion's
   * readiness proof, as the ec2 bastion's script writes it once sshd serves the session.
   */
  private announceRunning(sessionId: string, connection: Connection): void {
    const notify = this.onBastionRunning;
    setImmediate(() => {
      notify?.(sessionId);
      void this.proveReadiness(sessionId, connection).catch(() => undefined);
    });
  }

  /**
   * The local twin of the ec2 bastion's readiness script: asks the listening sshd for the host
   * key it serves (ssh-keyscan) and writes the proof line into the session's own log
   * (sshd.log), which the log tail hands to onLog like every sshd line. Nothing is written when
   * sshd does not answer: the session then fails at its deadline, saying the proof never came.
   */
  private async proveReadiness(sessionId: string, connection: Connection): Promise<void> {
    const { stdout } = await execFileAsync(
      this.sshKeyscanPath,
      ['-t', 'ed25519', '-T', '5', '-p', String(connection.bastionPort), connection.bastionHost],
      { timeout: 10_000 },
    );
    const served = stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((fields) => fields[1] === 'ssh-ed25519' && fields[2]);
    if (!served) return;
    const proof = readinessLine({
      sessionId,
      fingerprint: sshFingerprint(served.slice(1, 3).join(' ')),
    });
    const paths = this.paths(sessionId);
    if (!(await this.ownedRecord(sessionId))) return;
    await writeFile(paths.log, `${proof}\n`, { flag: 'a', mode: 0o600 });
    await this.tails.get(sessionId)?.read();
  }

  private paths(sessionId: string): SessionPaths {
    const dir = join(this.sessionsDir, sessionId);
    return {
      dir,
      config: join(dir, 'sshd_config'),
      hostKey: join(dir, 'ssh_host_ed25519_key'),
      authorizedKeys: join(dir, 'authorized_keys'),
      banner: join(dir, 'banner'),
      sshdPid: join(dir, 'sshd.pid'),
      pidRecord: join(dir, 'pid'),
      log: join(dir, 'sshd.log'),
    };
  }

  launch(plan: LaunchPlan): Promise<LaunchResult> {
    return this.exclusive(plan.session.id, () => this.launchNow(plan));
  }

  /**
   * Returns the sshd's pid only: like an ec2 bastion, the session becomes READY when the
   * bastion says it runs (onBastionRunning → observeBastion), not because launch returned.
   */
  private async launchNow(plan: LaunchPlan): Promise<LaunchResult> {
    const { session, target } = plan;
    if (!isSessionId(session.id)) throw new ProvisioningError('the session id is not valid');
    if (!/^[\x20-\x7e]+$/.test(plan.authorizedKey)) {
      throw new ProvisioningError('the authorized key must be a single printable line');
    }
    // A retried launch of a session whose sshd already runs gets that sshd back.
    const running = await this.ownedRecord(session.id);
    if (running?.connection && (await this.servesKey(session.id, plan.hostKey))) {
      this.announceRunning(session.id, running.connection);
      return { resources: { pid: running.pid } };
    }
    // Not yet listening, or serving another host key than the one this launch issued (and the
    // session will record): start again rather than keep a bastion that could never prove it.
    if (running) await this.releaseById(session.id);

    const paths = this.paths(session.id);
    try {
      await this.prepare(paths, plan.authorizedKey, plan.hostKey);
      const user = userInfo();
      const strictModes = await strictModesFor(paths.authorizedKeys, user.uid);
      const hostKeyFingerprint = sshFingerprint(await readFile(`${paths.hostKey}.pub`, 'utf8'));
      await writeFile(paths.banner, bannerFileContent(bannerOf(target)), { mode: 0o644 });
      const recorder = await this.recorderCommand(plan, paths);

      for (let attempt = 1; ; attempt += 1) {
        const port = await freePort(this.listenHost);
        const config = buildSshdConfig({
          sessionId: session.id,
          listenHost: this.listenHost,
          port,
          hostKeyPath: paths.hostKey,
          authorizedKeysPath: paths.authorizedKeys,
          bannerPath: paths.banner,
          pidFilePath: paths.sshdPid,
          allowUser: user.username,
          rootLogin: user.uid === 0,
          strictModes,
          targetHost: target.host,
          targetPort: target.port,
          access: target.access,
          ...(recorder ? { recorder } : {}),
        });
        await writeFile(paths.config, config, { mode: 0o600 });
        const started = await this.start(session.id, paths);
        if (started.ok) {
          const connection: Connection = {
            bastionHost: this.listenHost,
            bastionPort: port,
            linuxUser: user.username,
            hostKeyFingerprint,
          };
          await this.writeRecord(paths, { ...started.record, connection });
          this.announceRunning(session.id, connection);
          return { resources: { pid: started.record.pid } };
        }
        const portTaken = started.lines.some((line) => line.includes('Address already in use'));
        if (!portTaken || attempt >= START_ATTEMPTS) {
          throw new ProvisioningError(`sshd did not start${started.reason}`, {
            retryable: portTaken,
          });
        }
      }
    } catch (error) {
      await this.releaseById(session.id).catch(() => undefined);
      if (error instanceof ProvisioningError) throw error;
      const reason =
        errnoCode(error) === 'ENOENT' && (error as { path?: string }).path === this.sshKeygenPath
          ? 'ssh-keygen (OpenSSH) is not installed'
          : `could not start the local bastion: ${(error as Error).message}`.slice(0, 240);
      throw new ProvisioningError(reason, { cause: error });
    }
  }

  private async servesKey(sessionId: string, hostKey: IssuedHostKey | undefined): Promise<boolean> {
    if (!hostKey) return true;
    const current = await readFile(`${this.paths(sessionId).hostKey}.pub`, 'utf8').catch(() => '');
    return current.trim().split(/\s+/).slice(0, 2).join(' ') === hostKey.publicKey;
  }

  /**
   * Session directory, the host key (the one Drawbridge issued, else an ephemeral one) and the
   * one authorized key, all private to us.
   */
  private async prepare(
    paths: SessionPaths,
    authorizedKey: string,
    hostKey: IssuedHostKey | undefined,
  ): Promise<void> {
    await mkdir(this.sessionsDir, { recursive: true, mode: 0o700 });
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await chmod(paths.dir, 0o700);
    if (process.getuid?.() === 0 && existsSync('/run') && !existsSync('/run/sshd')) {
      // sshd started as root chroots its pre-auth child into its privilege-separation
      // directory, and refuses to start without it; Debian's init script creates it normally.
      await mkdir('/run/sshd', { mode: 0o755 }).catch((error: unknown) => {
        if (errnoCode(error) !== 'EEXIST') throw error;
      });
    }
    await rm(paths.hostKey, { force: true });
    await rm(`${paths.hostKey}.pub`, { force: true });
    if (hostKey) {
      await writeFile(paths.hostKey, hostKey.privateKey, { mode: 0o600, flag: 'wx' });
      await writeFile(`${paths.hostKey}.pub`, `${hostKey.publicKey} drawbridge-local\n`, {
        mode: 0o644,
        flag: 'wx',
      });
    } else {
      await execFileAsync(
        this.sshKeygenPath,
        ['-q', '-t', 'ed25519', '-N', '', '-C', 'drawbridge-local', '-f', paths.hostKey],
        { timeout: 10_000 },
      );
    }
    await rm(paths.authorizedKeys, { force: true });
    await writeFile(paths.authorizedKeys, `${authorizedKey}\n`, { mode: 0o600, flag: 'wx' });
  }

  private async start(
    sessionId: string,
    paths: SessionPaths,
  ): Promise<
    { ok: true; record: PidRecord } | { ok: false; reason: string; lines: readonly string[] }
  > {
    await this.tails.get(sessionId)?.stop();
    const log = await open(paths.log, 'a', 0o600);
    const offset = (await log.stat()).size;
    const tail = new LogTail(paths.log, offset, (line) => this.onLog?.(sessionId, line));
    this.tails.set(sessionId, tail);
    let child: ChildProcess;
    let exited: string | undefined;
    try {
      child = spawn(this.sshdPath, ['-D', '-e', '-f', paths.config], {
        // Its own session and process group: a Ctrl-C meant for Drawbridge does not reach it,
        // and release can signal the group as a whole.
        detached: true,
        stdio: ['ignore', 'ignore', log.fd],
        // sshd rewrites its process title over argv and environ; this harmless variable leaves
        // room for the title to keep the config path, which is how we recognise our sshd.
        env: { DRAWBRIDGE_SESSION: sessionId },
      });
      child.once('error', (error) => {
        exited =
          errnoCode(error) === 'ENOENT'
            ? `: ${this.sshdPath} does not exist`
            : `: ${error.message}`;
      });
      child.once('exit', (code, signalName) => {
        exited ??= code !== null ? ` (exit status ${code})` : ` (killed by ${signalName})`;
      });
    } finally {
      await log.close();
    }
    child.unref();
    const pid = child.pid;
    if (pid === undefined) {
      await sleep(0);
      return { ok: false, reason: exited ?? '', lines: [] };
    }
    const info = await processInfo(pid);
    const record: PidRecord = {
      pid,
      sessionId,
      startedAt: Date.now(),
      ...(info?.start ? { procStart: info.start } : {}),
    };
    // Written before sshd listens, so that a crash of ours during start-up still leaves the
    // process findable by listOwned.
    await this.writeRecord(paths, record);

    const listening = await waitUntil(async () => {
      await tail.read();
      return exited !== undefined || tail.recent.some((line) => /^Server listening on /.test(line));
    }, this.startTimeoutMs);
    if (listening && exited === undefined) {
      tail.start();
      return { ok: true, record };
    }
    await terminateTree(pid, this.signal);
    await tail.stop();
    await rm(paths.pidRecord, { force: true });
    const reason = exited
      ? `${exited}${gist(tail.recent)}`
      : ` within ${this.startTimeoutMs} ms${gist(tail.recent)}`;
    return { ok: false, reason, lines: [...tail.recent] };
  }

  private async writeRecord(paths: SessionPaths, record: PidRecord): Promise<void> {
    const staging = `${paths.pidRecord}.tmp`;
    await writeFile(staging, `${JSON.stringify(record)}\n`, { mode: 0o600 });
    await rename(staging, paths.pidRecord);
  }

  private async readRecord(sessionId: string): Promise<PidRecord | undefined> {
    try {
      const value = JSON.parse(await readFile(this.paths(sessionId).pidRecord, 'utf8')) as unknown;
      if (typeof value !== 'object' || value === null) return undefined;
      const record = value as Partial<PidRecord>;
      if (!Number.isInteger(record.pid) || (record.pid ?? 0) <= 1) return undefined;
      if (record.sessionId !== sessionId) return undefined;
      return record as PidRecord;
    } catch {
      return undefined;
    }
  }

  /** Pids get reused: the process must be alive, run our session's config, and (on Linux) be
   * the very process we started. */
  private async isOurs(record: PidRecord): Promise<boolean> {
    if (!(await isAlive(record.pid))) return false;
    const config = this.paths(record.sessionId).config;
    const args = await commandLine(record.pid);
    if (!args.includes(`-f ${config} `) && !args.trimEnd().endsWith(`-f ${config}`)) return false;
    if (record.procStart !== undefined) {
      const info = await processInfo(record.pid);
      if (info?.start !== record.procStart) return false;
    }
    return true;
  }

  private async ownedRecord(sessionId: string): Promise<PidRecord | undefined> {
    const record = await this.readRecord(sessionId);
    return record && (await this.isOurs(record)) ? record : undefined;
  }

  /**
   * An extension moves layer 1 here: sshd reads authorized_keys at every login, so the key
   * line with the new expiry-time replaces the old one atomically (a new file renamed over
   * it). Only while our sshd runs and its key is in place: release removes the key first,
   * and an extension racing a release must never bring it back. Local bastions have no
   * self-destruct (layer 4 is an ec2 bastion's own shutdown), so selfDestructAt is unused.
   */
  extend(plan: ExtendPlan): Promise<void> {
    return this.exclusive(plan.session.id, () => this.extendNow(plan));
  }

  private async extendNow(plan: ExtendPlan): Promise<void> {
    const { session } = plan;
    if (!isSessionId(session.id)) throw new ProvisioningError('the session id is not valid');
    if (!/^[\x20-\x7e]+$/.test(plan.authorizedKey)) {
      throw new ProvisioningError('the authorized key must be a single printable line');
    }
    const paths = this.paths(session.id);
    if (!(await this.ownedRecord(session.id)) || !existsSync(paths.authorizedKeys)) {
      throw new ProvisioningError('the local bastion of this session is not running');
    }
    const staging = `${paths.authorizedKeys}.extend`;
    await writeFile(staging, `${plan.authorizedKey}\n`, { mode: 0o600 });
    await rename(staging, paths.authorizedKeys);
  }

  async inspect(session: Session): Promise<BastionState> {
    if (!isSessionId(session.id)) return { state: 'gone' };
    const record = await this.ownedRecord(session.id);
    if (!record) return { state: 'gone' };
    return record.connection
      ? { state: 'running', connection: record.connection }
      : { state: 'pending' };
  }

  /**
   * Ends the sshd and every connection it serves, and says so only when they are really gone:
   * a kill that did not take throws, so the session stays ENDING and the reaper tries again.
   */
  async release(session: Session): Promise<void> {
    const gone = await this.exclusive(session.id, () => this.releaseById(session.id));
    if (!gone) {
      throw new ProvisioningError('the local bastion is still running after the kill', {
        retryable: true,
      });
    }
  }

  /** True when nothing of the session's sshd is left running. */
  private async releaseById(sessionId: string): Promise<boolean> {
    if (!isSessionId(sessionId)) return true;
    const paths = this.paths(sessionId);
    // First, so that even an sshd that survives what follows can no longer accept the key.
    await rm(paths.authorizedKeys, { force: true });
    const record = await this.ownedRecord(sessionId);
    if (record && !(await terminateTree(record.pid, this.signal))) return false;
    const tail = this.tails.get(sessionId);
    this.tails.delete(sessionId);
    await tail?.stop();
    await this.recordings.seal(sessionId);
    // sshd.log and sshd_config stay behind: they are the record of what the session did.
    await Promise.all(
      [paths.pidRecord, paths.sshdPid, paths.hostKey, `${paths.hostKey}.pub`].map((path) =>
        rm(path, { force: true }),
      ),
    );
    return true;
  }

  async listOwned(): Promise<OwnedResource[]> {
    let entries: string[];
    try {
      entries = await readdir(this.sessionsDir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const owned: OwnedResource[] = [];
    for (const sessionId of entries.filter(isSessionId)) {
      const record = await this.ownedRecord(sessionId);
      if (record) owned.push({ kind: 'process', id: String(record.pid), sessionId });
    }
    return owned;
  }

  async destroy(resource: OwnedResource): Promise<DestroyOutcome> {
    if (resource.kind !== 'process') return 'destroyed';
    if (resource.sessionId !== undefined && isSessionId(resource.sessionId)) {
      const sessionId = resource.sessionId;
      const gone = await this.exclusive(sessionId, () => this.releaseById(sessionId));
      return gone ? 'destroyed' : 'retry-later';
    }
    // Without a session id, only a process that runs a config from our sessions dir is ours.
    const pid = Number(resource.id);
    if (!Number.isInteger(pid) || pid <= 1 || !(await isAlive(pid))) return 'destroyed';
    const args = await commandLine(pid);
    if (!args.includes(` -f ${this.sessionsDir}/`) || !args.includes('/sshd_config')) {
      return 'destroyed';
    }
    return (await terminateTree(pid, this.signal)) ? 'destroyed' : 'retry-later';
  }
}
