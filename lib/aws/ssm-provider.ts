import type {
  InstanceInformation,
  InstanceInformationStringFilter,
  SessionFilter,
  SSMClient,
  Session as SsmSession,
} from '@aws-sdk/client-ssm';
import { ConflictError, DrawbridgeError, ProvisioningError } from '../domain/errors.ts';
import type { Target } from '../domain/policy.ts';
import { type Connection, SESSION_ID_PATTERN, type Session } from '../domain/session.ts';
import { parseRoleArn } from '../domain/session-policy.ts';
import { type SsmTargetRef, ssmTargetRef } from '../domain/ssm-session-policy.ts';
import type {
  BastionState,
  DestroyOutcome,
  LaunchPlan,
  LaunchResult,
  OwnedResource,
  Provider,
  TargetCheck,
} from '../ports/provider.ts';
import { errorName, isThrottling } from './aws-errors.ts';
import { clientSettings } from './client-settings.ts';
import { cloudConfig, MAX_SELF_DESTRUCT_MINUTES } from './cloud-config.ts';
import type { Ec2Provider } from './ec2-provider.ts';
import { allPages } from './pages.ts';

const ONLINE = 'Online';
/** Session Manager's own user on Linux when run-as is off. */
const SSM_LINUX_USER = 'ssm-user';
/** The agent dials out to Systems Manager over HTTPS; nothing dials in. */
const SSM_PORT = 443;
/** DescribeInstanceInformation accepts 5-50 with filters. */
const INFORMATION_PAGE = 50;
const SESSIONS_PAGE = 200;

type SsmSdk = typeof import('@aws-sdk/client-ssm');
let sdk: Promise<SsmSdk> | undefined;
/**
 * The SDK is imported on first use, not with this module: POST /sessions carries the ssm
 * target check, and only requests for ssm targets should pay for loading Systems Manager.
 */
const loadSdk = (): Promise<SsmSdk> => {
  sdk ??= import('@aws-sdk/client-ssm');
  return sdk;
};
let sharedClient: Promise<SSMClient> | undefined;
/** One client per process, made on first use (see loadSdk). */
export function ssmClient(): Promise<SSMClient> {
  sharedClient ??= loadSdk().then((module) => new module.SSMClient(clientSettings('ssm')));
  return sharedClient;
}

export const ssmConnection = (instanceId: string): Connection => ({
  bastionHost: instanceId,
  bastionPort: SSM_PORT,
  linuxUser: SSM_LINUX_USER,
});

export interface SsmBastionUserDataInput {
  sessionId: string;
  selfDestructMinutes: number;
}

/**
 * A fresh ssm bastion's cloud-config (JSON, which cloud-init reads as YAML): the self-destruct armed
 * first, the SSM agent installed and started, sshd stopped (nothing may reach it anyway), and
 * ssm-user created ahead of the agent, which would otherwise create it with sudo rights.
 */
export function buildSsmBastionUserData(input: SsmBastionUserDataInput): string {
  if (!SESSION_ID_PATTERN.test(input.sessionId)) throw new Error('unsafe sessionId for user data');
  if (
    !Number.isInteger(input.selfDestructMinutes) ||
    input.selfDestructMinutes < 1 ||
    input.selfDestructMinutes > MAX_SELF_DESTRUCT_MINUTES
  ) {
    throw new Error('unsafe selfDestructMinutes for user data');
  }
  const document = {
    bootcmd: [['shutdown', '-h', `+${input.selfDestructMinutes}`]],
    users: [{ name: SSM_LINUX_USER, lock_passwd: true, shell: '/bin/bash' }],
    ssh_pwauth: false,
    disable_root: true,
    packages: ['amazon-ssm-agent'],
    runcmd: [
      ['systemctl', 'disable', '--now', 'sshd'],
      ['systemctl', 'enable', '--now', 'amazon-ssm-agent'],
    ],
  };
  return cloudConfig(document);
}

export interface ManagedInstancesOptions {
  /** the shared client (ssmClient()) when absent */
  ssm?: SSMClient;
}

/**
 * Systems Manager's view of managed instances and their Session Manager sessions: every SSM
 * call the ssm mode makes, with throttling retried. It is also the request-time TargetCheck
 * of POST /sessions, which loads the SSM SDK only when an ssm target is asked for.
 */
export class ManagedInstances implements TargetCheck {
  readonly #ssm: SSMClient | undefined;

  constructor(options: ManagedInstancesOptions) {
    this.#ssm = options.ssm;
  }

  /** At request time: an existing target must be Online now, and be one instance only. */
  async checkTarget(target: Target): Promise<Session['resources']> {
    const ref = ssmTargetRef(target);
    if (ref.kind === 'fresh') return {};
    let candidates: InstanceInformation[];
    try {
      candidates = await this.candidates(ref);
    } catch (error) {
      throw failure(error, 'looking up the target in Systems Manager');
    }
    return { targetInstanceId: pickOnline(target, ref, candidates) };
  }

  /** Registered instances that fit the target (by id, or by every tag), with their ping status. */
  candidates(
    ref: Exclude<SsmTargetRef, { kind: 'fresh' }>,
    recorded?: string,
  ): Promise<InstanceInformation[]> {
    const filters: InstanceInformationStringFilter[] = [];
    if (ref.kind === 'instance') filters.push({ Key: 'InstanceIds', Values: [ref.instanceId] });
    else {
      for (const [key, value] of Object.entries(ref.tags)) {
        filters.push({ Key: `tag:${key}`, Values: [value] });
      }
      // Checked against this one at request time: it must still carry the tags.
      if (recorded) filters.push({ Key: 'InstanceIds', Values: [recorded] });
    }
    return this.#describe(filters);
  }

  async isOnline(instanceId: string): Promise<boolean> {
    const [information] = await this.#describe([{ Key: 'InstanceIds', Values: [instanceId] }]);
    return information?.PingStatus === ONLINE;
  }

  /** Active (connected, connecting, disconnected) sessions, every page. */
  async activeSessions(filters: SessionFilter[]): Promise<SsmSession[]> {
    return allPages(
      (token) =>
        this.#call((ssm, client) =>
          client.send(
            new ssm.DescribeSessionsCommand({
              State: 'Active',
              ...(filters.length ? { Filters: filters } : {}),
              MaxResults: SESSIONS_PAGE,
              NextToken: token,
            }),
          ),
        ),
      (page) => page.Sessions,
    );
  }

  async terminate(ssmSessionId: string): Promise<void> {
    try {
      await this.#call((ssm, client) =>
        client.send(new ssm.TerminateSessionCommand({ SessionId: ssmSessionId })),
      );
    } catch (error) {
      // Gone already is what we wanted.
      if (errorName(error) !== 'DoesNotExistException') throw error;
    }
  }

  async #describe(filters: InstanceInformationStringFilter[]): Promise<InstanceInformation[]> {
    return allPages(
      (token) =>
        this.#call((ssm, client) =>
          client.send(
            new ssm.DescribeInstanceInformationCommand({
              Filters: filters,
              MaxResults: INFORMATION_PAGE,
              NextToken: token,
            }),
          ),
        ),
      (page) => page.InstanceInformationList,
    );
  }

  /** Throttled calls are retried with full jitter. */
  async #call<T>(call: (ssm: SsmSdk, client: SSMClient) => Promise<T>): Promise<T> {
    const module = await loadSdk();
    const client = await (this.#ssm ?? ssmClient());
    return this.#send(() => call(module, client));
  }

  /** Throttling is retried by the client's own strategy (lib/aws/client-settings.ts), once. */
  async #send<T>(call: () => Promise<T>): Promise<T> {
    return call();
  }
}

export interface SsmProviderOptions {
  instances: ManagedInstances;
  /** fresh bastions take the ec2 launch path, with no inbound rule */
  bastions: Ec2Provider;
  /** the SsmSessionRole: grants are its role sessions, named after the Drawbridge session */
  sessionRoleArn: string;
  /** instance profile of a fresh ssm bastion: the agent's channel, nothing else */
  bastionInstanceProfileArn: string;
  /** how often a fresh bastion's agent is checked until Online */
  recheckSeconds?: number;
}

/**
 * The ssm mode: no inbound port anywhere. The target is an existing managed instance (named by
 * id, or found by its tags and refused when that is ambiguous) or a fresh bastion launched by
 * the ec2 path without any ingress. Access itself is the credential grant (lib/aws/ssm-grant.ts);
 * this provider decides when the instance is usable and, at the end, terminates every Session
 * Manager session opened under the grant — never anyone else's — and any fresh bastion.
 */
export class SsmProvider implements Provider {
  readonly mode = 'ssm' as const;
  readonly #instances: ManagedInstances;
  readonly #bastions: Ec2Provider;
  readonly #sessionRoleArn: string;
  readonly #instanceProfileArn: string;
  readonly #recheckSeconds: number;

  constructor(options: SsmProviderOptions) {
    this.#instances = options.instances;
    this.#bastions = options.bastions;
    this.#sessionRoleArn = options.sessionRoleArn;
    this.#instanceProfileArn = options.bastionInstanceProfileArn;
    this.#recheckSeconds = options.recheckSeconds ?? 10;
  }

  async launch(plan: LaunchPlan): Promise<LaunchResult> {
    const { session, target } = plan;
    let ref: SsmTargetRef;
    try {
      ref = ssmTargetRef(target);
    } catch (error) {
      throw new ProvisioningError((error as Error).message);
    }
    if (ref.kind === 'fresh') {
      if (!this.#instanceProfileArn) {
        throw new ProvisioningError('no instance profile is configured for fresh ssm bastions');
      }
      let userData: string;
      try {
        userData = buildSsmBastionUserData({
          sessionId: session.id,
          selfDestructMinutes: plan.selfDestructMinutes,
        });
      } catch (error) {
        throw new ProvisioningError(`bastion user data refused: ${(error as Error).message}`);
      }
      const launched = await this.#bastions.launchBastion(plan, {
        ingress: 'none',
        userData,
        instanceProfileArn: this.#instanceProfileArn,
      });
      // No event says "agent Online": the provisioner asks again until it is, or the deadline.
      return { ...launched, recheckAfterSeconds: this.#recheckSeconds };
    }
    // The instance the request was checked against, if it still fits the policy's target.
    let candidates: InstanceInformation[];
    try {
      candidates = await this.#instances.candidates(ref, session.resources.targetInstanceId);
    } catch (error) {
      throw failure(error, 'looking up the target in Systems Manager');
    }
    let instanceId: string;
    try {
      instanceId = pickOnline(target, ref, candidates);
    } catch (error) {
      if (error instanceof ConflictError) throw new ProvisioningError(error.message);
      throw error;
    }
    return { resources: { targetInstanceId: instanceId }, connection: ssmConnection(instanceId) };
  }

  async inspect(session: Session): Promise<BastionState> {
    const pending: BastionState = { state: 'pending', recheckAfterSeconds: this.#recheckSeconds };
    const existing = session.resources.targetInstanceId;
    if (!existing) {
      const bastion = await this.#bastions.inspect(session);
      if (bastion.state === 'gone') return bastion;
      if (bastion.state === 'pending') return pending;
    }
    const instanceId = existing ?? session.resources.instanceId;
    if (!instanceId) return { state: 'gone' };
    let online: boolean;
    try {
      online = await this.#instances.isOnline(instanceId);
    } catch (error) {
      throw failure(error, 'checking the agent');
    }
    // EC2 says running before the agent has registered: that is not READY yet.
    return online ? { state: 'running', connection: ssmConnection(instanceId) } : pending;
  }

  async release(session: Session): Promise<void> {
    const existing = session.resources.targetInstanceId;
    try {
      await this.#terminateGrantSessions(session, existing ?? session.resources.instanceId);
    } catch (error) {
      throw failure(error, 'ending Session Manager sessions');
    }
    // An existing target is someone else's instance: only a bastion we launched goes.
    if (!existing) await this.#bastions.release(session);
  }

  /** A fresh bastion's security group goes once EC2 reports its instance terminated. */
  async releaseLeftovers(session: Session): Promise<void> {
    if (!session.resources.targetInstanceId) await this.#bastions.releaseLeftovers(session);
  }

  /**
   * Active Session Manager sessions opened with any grant of this stage's role. Fresh ssm
   * bastions carry the stage tag, so the ec2 provider's listing already reconciles them.
   */
  async listOwned(): Promise<OwnedResource[]> {
    const prefix = this.#ownerPrefix();
    if (!prefix) return [];
    try {
      const owned: OwnedResource[] = [];
      for (const active of await this.#instances.activeSessions([])) {
        const owner = active.Owner ?? '';
        if (!active.SessionId || !owner.startsWith(prefix)) continue;
        const sessionId = owner.slice(prefix.length);
        owned.push({
          kind: 'ssm-session',
          id: active.SessionId,
          ...(SESSION_ID_PATTERN.test(sessionId) ? { sessionId } : {}),
        });
      }
      return owned;
    } catch (error) {
      throw failure(error, 'listing Session Manager sessions');
    }
  }

  async destroy(resource: OwnedResource): Promise<DestroyOutcome> {
    if (resource.kind === 'process') {
      throw new ProvisioningError('the ssm provider does not own processes');
    }
    if (resource.kind !== 'ssm-session') return this.#bastions.destroy(resource);
    try {
      await this.#instances.terminate(resource.id);
      return 'destroyed';
    } catch (error) {
      if (isThrottling(error)) return 'retry-later';
      throw failure(error, `ending Session Manager session ${resource.id}`);
    }
  }

  /**
   * The role session name is the Drawbridge session id, so the grant's sessions are owned by
   * `…:assumed-role/<role>/<id>` and named `<id>-<random>`. Anyone else's session on the same
   * instance matches neither and is left alone.
   */
  async #terminateGrantSessions(session: Session, instanceId: string | undefined): Promise<void> {
    const owner = this.#ownerPrefix()?.concat(session.id);
    const filters: SessionFilter[] = instanceId ? [{ key: 'Target', value: instanceId }] : [];
    for (const active of await this.#instances.activeSessions(filters)) {
      const id = active.SessionId;
      if (!id) continue;
      const ours =
        (owner !== undefined && active.Owner === owner) || id.startsWith(`${session.id}-`);
      if (ours) await this.#instances.terminate(id);
    }
  }

  /** `arn:…:sts::<account>:assumed-role/<role>/`; undefined when no role is configured. */
  #ownerPrefix(): string | undefined {
    if (!this.#sessionRoleArn) return undefined;
    try {
      const { partition, accountId, roleName } = parseRoleArn(this.#sessionRoleArn);
      return `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/`;
    } catch {
      return undefined;
    }
  }
}

/** Only the AWS error code reaches the reason: SDK messages can quote request details. */
function failure(error: unknown, step: string): DrawbridgeError {
  if (error instanceof DrawbridgeError) return error;
  return new ProvisioningError(`${step} failed: ${errorName(error)}`, {
    cause: error,
    retryable: true,
  });
}

const describeTags = (tags: Readonly<Record<string, string>>): string =>
  Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');

/**
 * Exactly one Online instance, or a ConflictError that says what is wrong. Instances that match
 * but are not Online (stopped, replaced, agent down) are not candidates: with tags, an instance
 * replaced by its auto scaling group leaves a stale registration behind for a while.
 */
function pickOnline(
  target: Target,
  ref: Exclude<SsmTargetRef, { kind: 'fresh' }>,
  candidates: readonly InstanceInformation[],
): string {
  const what =
    ref.kind === 'instance' ? `instance ${ref.instanceId}` : `tags ${describeTags(ref.tags)}`;
  const online = candidates.filter(
    (information) => information.PingStatus === ONLINE && information.InstanceId,
  );
  const [only, ...others] = online;
  if (only?.InstanceId && others.length === 0) return only.InstanceId;
  if (online.length > 1) {
    const ids = online.map((information) => information.InstanceId).join(', ');
    throw new ConflictError(
      `target '${target.name}': ${what} match ${online.length} Online managed instances (${ids}); the policy must single out one`,
    );
  }
  if (candidates.length === 0) {
    throw new ConflictError(
      `target '${target.name}': no managed instance with ${what} is registered with Systems Manager`,
    );
  }
  const states = candidates
    .map((information) => `${information.InstanceId ?? '?'} ${information.PingStatus ?? 'unknown'}`)
    .join(', ');
  throw new ConflictError(
    `target '${target.name}': the Session Manager agent is not Online (${states}); try again once it is connected`,
  );
}
