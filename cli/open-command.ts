import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseDuration } from '../lib/domain/durations.ts';
import { TargetList } from './account-commands.ts';
import { afterConnection, revoke } from './after-connection.ts';
import { type ApiClient, SessionStatus, SessionView } from './api-client.ts';
import { OPEN_FLAGS } from './api-words.ts';
import {
  isRecorded,
  renderReady,
  type SshCommands,
  shellCommands,
  sshCommands,
  withCheckedConfig,
} from './connection-output.ts';
import type { Context } from './context.ts';
import { openEice } from './eice.ts';
import { CliError, ExitCode, UsageError } from './errors.ts';
import { announceRequest, breakGlassFlags, waitDeadline } from './extend-command.ts';
import { clean, json } from './format.ts';
import { runProgram } from './io.ts';
import {
  adoptSessionKey,
  checkBastionHostKey,
  chooseLocalPort,
  discardKey,
  generateSessionKey,
  pinHostKey,
  rememberExpiry,
  rememberLocalPort,
  type SessionKey,
  SSH_CLIENT,
  suggestedLocalPort,
  userKey,
} from './ssh.ts';
import { openSsm } from './ssm.ts';

const POLL_MS = 500;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STOPS_WAITING = new Set<string>([
  SessionStatus.READY,
  SessionStatus.FAILED,
  SessionStatus.ENDED,
]);

export function durationFlag(name: string, text: string): number {
  try {
    const minutes = parseDuration(text);
    if (minutes < 1) throw new Error('must be at least 1m');
    return minutes;
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

function portFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new UsageError('--local-port must be a port number from 1 to 65535');
  }
  return port;
}

const expandHome = (path: string, home: string): string =>
  path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;

/** Ctrl-C as a promise-friendly flag: waits can be cut short, and the state can be checked. */
class Interrupt {
  interrupted = false;
  private wake: (() => void) | undefined;

  fire(): void {
    this.interrupted = true;
    this.wake?.();
  }

  /** Sleeps `ms`, or less if Ctrl-C comes first. */
  pause(ms: number): Promise<void> {
    if (this.interrupted) return Promise.resolve();
    return new Promise((resolveWait) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolveWait();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

/**
 * What the engineer sees while the bridge comes down: on a terminal one line redrawn with a
 * spinner; in a log one line per status change. Always stderr, so stdout stays the result.
 */
class Progress {
  private readonly context: Context;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private text = '';
  private lastStatus = '';

  constructor(context: Context) {
    this.context = context;
    if (this.live) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  private get quiet(): boolean {
    return this.context.json;
  }

  private get live(): boolean {
    return !this.quiet && this.context.io.isTTY;
  }

  update(view: SessionView): void {
    if (this.quiet) return;
    this.text = `${view.id} ${clean(view.target, 64)}: ${clean(view.status, 32)}`;
    if (this.live) this.draw();
    else if (view.status !== this.lastStatus) this.context.err(`${this.text}\n`);
    this.lastStatus = view.status;
  }

  private draw(): void {
    const seconds = Math.floor((Date.now() - this.startedAt) / 1000);
    this.frame = (this.frame + 1) % SPINNER.length;
    this.context.err(`\r\x1b[2K${SPINNER[this.frame]} ${this.text} (${seconds}s)`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.context.err('\r\x1b[2K');
  }
}

type WaitOutcome =
  | { kind: 'done'; view: SessionView }
  | { kind: 'interrupted'; view: SessionView }
  | { kind: 'timeout'; view: SessionView };

async function waitForSession(
  context: Context,
  client: ApiClient,
  first: SessionView,
  deadline: number,
  interrupt: Interrupt,
): Promise<WaitOutcome> {
  const progress = new Progress(context);
  let view = first;
  try {
    progress.update(view);
    while (!STOPS_WAITING.has(view.status)) {
      if (interrupt.interrupted) return { kind: 'interrupted', view };
      if (Date.now() >= deadline) return { kind: 'timeout', view };
      await interrupt.pause(POLL_MS);
      if (interrupt.interrupted) return { kind: 'interrupted', view };
      ({ data: view } = await client.request(
        'GET',
        `/sessions/${encodeURIComponent(view.id)}`,
        SessionView,
        { retries: 2 },
      ));
      progress.update(view);
    }
    return { kind: 'done', view };
  } finally {
    progress.stop();
  }
}

/** The flags that ask for a tunnel (ssh -W, a local port forward). */
function tunnelFlags(context: Context): string[] {
  return [
    ...(context.flag('stdio') ? ['--stdio'] : []),
    ...(context.string('local-port') !== undefined ? ['--local-port'] : []),
  ];
}

const recordedRefusal = (target: string, flags: string[]): UsageError =>
  new UsageError(
    `${clean(target, 64)} is recorded: its session is a shell on the bastion (ssh -tt), never a tunnel, so ${flags.join(' and ')} cannot be used; open it without, and reach the target from that shell`,
  );

/**
 * A recorded target gives no tunnel: flags asking for one are refused before a key is made or
 * anything requested. GET /targets says which targets are recorded; if it cannot be read, the
 * same refusal comes once the session is READY (and the session is revoked).
 */
async function refuseTunnelFlags(context: Context, client: ApiClient, target: string) {
  const flags = tunnelFlags(context);
  if (flags.length === 0) return;
  let recording: string | undefined;
  try {
    const { data } = await client.request('GET', '/targets', TargetList, { retries: 2 });
    recording = data.items.find((item) => item.name === target)?.recording;
  } catch {
    return;
  }
  if (recording === 'full') throw recordedRefusal(target, flags);
}

/** `drawbridge open <target>`: request, wait for READY, hand over the ssh lines (or run ssh). */
export async function open(context: Context): Promise<number> {
  const { io, paths } = context;
  const target = context.positionals[0] ?? '';
  const reason = context.string('reason');
  if (!reason) throw new UsageError('--reason is required: say why you need access');
  const breakGlass = breakGlassFlags(context);
  const forText = context.string('for');
  const durationMinutes = forText === undefined ? undefined : durationFlag('--for', forText);
  const waitMs = durationFlag('--wait-timeout', context.string('wait-timeout') ?? '10m') * 60_000;
  const localPortFlag = portFlag(context.string('local-port'));
  const keyFlag = context.string('key');
  const home = io.env.HOME || homedir();

  // Signed in before any key is made: no point generating one for a request that cannot go.
  const client = await context.client();
  await refuseTunnelFlags(context, client, target);
  // Listening from here on, so that Ctrl-C at any point leaves neither a key nor a session.
  const interrupt = new Interrupt();
  const unsubscribe = io.onInterrupt?.(() => interrupt.fire());
  try {
    let key: SessionKey = keyFlag
      ? await userKey(resolve(io.cwd, expandHome(keyFlag, home)))
      : await generateSessionKey(
          paths.keysDir,
          `drawbridge-${target.replace(/[^a-z0-9-]/g, '').slice(0, 63)}`,
        );
    if (interrupt.interrupted) {
      await discardKey(key.dir);
      return interrupted(context, 'nothing was requested', true);
    }
    let view: SessionView;
    try {
      // One key per request, reused by the retries: a POST whose answer was lost and that is
      // sent again must find the first session, not open a second.
      ({ data: view } = await client.request('POST', '/sessions', SessionView, {
        body: {
          target,
          reason,
          publicKey: key.publicKey,
          ...(durationMinutes !== undefined ? { durationMinutes } : {}),
          ...breakGlass,
        },
        headers: { 'idempotency-key': randomUUID() },
        retries: 2,
        flags: OPEN_FLAGS,
      }));
    } catch (error) {
      await discardKey(key.dir);
      throw error;
    }
    key = await adoptSessionKey(key, paths.keysDir, view.id);
    announceRequest(context, view);

    const outcome = await waitForSession(
      context,
      client,
      view,
      waitDeadline(view, Date.now(), waitMs),
      interrupt,
    );
    view = outcome.view;
    if (outcome.kind === 'interrupted') {
      const revoked = await revoke(context, client, view.id, 'interrupted');
      if (revoked) await discardKey(key.dir);
      // revoke() has told the story on stderr already.
      return interrupted(
        context,
        revoked ? `revoked ${view.id}` : `${view.id} may still be live`,
        false,
      );
    }
    if (outcome.kind === 'timeout') {
      const minutes = Math.round(waitMs / 60_000);
      const revoked = await revoke(context, client, view.id, `not READY after ${minutes}m`);
      if (revoked) await discardKey(key.dir);
      throw new CliError(
        `${view.id} was still ${clean(view.status, 32)} after ${minutes}m${revoked ? '; it has been revoked' : ''}`,
        ExitCode.unexpected,
        'timeout',
      );
    }

    if (view.status === SessionStatus.READY && view.mode === 'eice') {
      // No bastion: the way in is a tunnel grant, and the key is pushed to the instance.
      return await openEice(context, client, view, key, {
        localPort: localPortFlag,
        isInterrupted: () => interrupt.interrupted,
      });
    }
    if (view.status === SessionStatus.READY && view.mode === 'ssm') {
      // Session Manager needs no key: the way in is the credentials (cli/ssm.ts).
      await discardKey(key.dir);
      return await openSsm(context, client, view, {
        localPort: localPortFlag,
        shell: context.flag('shell'),
        isInterrupted: () => interrupt.interrupted,
      });
    }
    if (view.status !== SessionStatus.READY || !view.connection) {
      await discardKey(key.dir);
      if (context.json) context.out(json(view));
      const why =
        view.status === SessionStatus.FAILED
          ? `${view.id} FAILED: ${clean(view.failureReason ?? 'no reason given', 500)}`
          : `${view.id} ${clean(view.status, 32)} before it was ready${view.endReason ? ` (${clean(view.endReason, 32)})` : ''}`;
      context.err(`drawbridge: ${why}\n`);
      return ExitCode.sessionFailed;
    }

    const connection = view.connection;
    const auth = {
      identityFile: key.identityFile,
      knownHostsFile: join(context.paths.keysDir, view.id, 'known_hosts'),
    };
    if (isRecorded(connection) && tunnelFlags(context).length > 0) {
      if (await revoke(context, client, view.id, 'a recorded session gives no tunnel')) {
        await discardKey(key.dir);
      }
      throw recordedRefusal(view.target, tunnelFlags(context));
    }
    await pinHostKey(connection, auth.knownHostsFile);
    await rememberExpiry(key.dir, view.expiresAt);
    let commands: SshCommands;
    if (isRecorded(connection)) {
      commands = shellCommands(view, connection, auth);
    } else {
      const localPort = localPortFlag ?? (await chooseLocalPort(suggestedLocalPort(connection)));
      // show (and a second look while the forward runs) must print this port, not pick another.
      await rememberLocalPort(key.dir, localPort);
      commands = sshCommands(view, connection, localPort, auth);
    }
    if (context.json) {
      context.out(
        json({
          ...withCheckedConfig(view, commands),
          ...(key.identityFile ? { identityFile: key.identityFile } : {}),
          ssh: commands,
        }),
      );
    } else {
      context.out(renderReady(view, connection, commands, key.identityFile, Date.now()));
    }
    if (!context.flag('connect')) return ExitCode.ok;
    return await connect(context, client, view, commands, interrupt, key.dir);
  } finally {
    unsubscribe?.();
  }
}

function interrupted(context: Context, message: string, tell: boolean): number {
  if (context.json) context.out(json({ error: { code: 'interrupted', message } }));
  else if (tell) context.err(`drawbridge: interrupted; ${message}\n`);
  return ExitCode.interrupted;
}

/** What ssh is asked to do with the terminal once the session is READY. */
function connectArgv(
  context: Context,
  connection: NonNullable<SessionView['connection']>,
  commands: SshCommands,
): { argv: string[]; say: string } {
  const target = `${clean(connection.target.host, 253)}:${connection.target.port}`;
  const fingerprint = connection.hostKeyFingerprint
    ? ` (bastion host key ${clean(connection.hostKeyFingerprint, 100)})`
    : '';
  if ('shell' in commands) {
    // The recorder's shell is all a recorded bastion allows: ssh -tt, never -J, -W or -L.
    return {
      argv: commands.shell,
      say: `opening the recorded shell on the bastion${fingerprint}; everything it shows is kept; reach ${target} from there\n`,
    };
  }
  if (context.flag('stdio')) {
    // ssh -W joins this terminal to the target itself, as nc would: nothing else to install.
    return {
      argv: commands.stdio,
      say: `talking to ${target} through the bastion${fingerprint}; type a line, Ctrl-D or Ctrl-C ends it\n`,
    };
  }
  if (connection.target.port === 22) {
    return {
      argv: commands.jump,
      say: `connecting to ${clean(connection.target.host, 253)} through the bastion${fingerprint}\n`,
    };
  }
  return {
    argv: commands.forward,
    say: `forwarding 127.0.0.1:${commands.localPort} to ${target}${fingerprint}\nuse 127.0.0.1:${commands.localPort}; Ctrl-C stops the forward\n`,
  };
}

/**
 * --connect: run ssh in the foreground; Ctrl-C goes to ssh, which ends, and so do we. Leaving
 * ends the session (as `aws ssm start-session` does) unless --keep; a session that ended under
 * the connection is told as such (when, why), not as ssh's failure.
 */
async function connect(
  context: Context,
  client: ApiClient,
  view: SessionView,
  commands: SshCommands,
  interrupt: Interrupt,
  keyDir: string | undefined,
): Promise<number> {
  const connection = view.connection;
  if (!connection) return ExitCode.ok;
  const spawn = context.io.spawn;
  if (!spawn) throw new CliError('cannot start ssh here', ExitCode.unexpected, 'no_spawn');
  const { argv, say } = connectArgv(context, connection, commands);
  context.err(say);
  await checkBastionHostKey(connection, view.id);
  const result = await runProgram(spawn, argv, { stdio: 'inherit' }, SSH_CLIENT.missing);
  return afterConnection(context, client, view, {
    ...result,
    interrupted: interrupt.interrupted,
    keyDir,
  });
}
