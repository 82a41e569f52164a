import type { IssuedHostKey } from '../domain/host-key.ts';
import type { Policy, Target } from '../domain/policy.ts';
import type { Connection, Mode, Session, SessionResources } from '../domain/session.ts';

export interface LaunchPlan {
  session: Session;
  target: Target;
  policy: Policy;
  /** the complete authorized_keys line, options included (authorizedKeyLine) */
  authorizedKey: string;
  /** when the bastion must shut itself down whatever happens (layer 4) */
  selfDestructAt: number;
  /** the same bound as minutes from launch, for `shutdown -h +N` */
  selfDestructMinutes: number;
  /**
   * The bastion's sshd host key, issued by Drawbridge (ec2, local). Its private half goes to
   * the bastion only: never into a log, an error, the table or the audit trail.
   */
  hostKey?: IssuedHostKey;
}

export interface LaunchResult {
  resources: SessionResources;
  /** present when the bastion is usable as soon as launch returns (local mode) */
  connection?: Connection;
  /**
   * Readiness that no cloud event announces (a Session Manager agent coming Online): the
   * provisioner checks again after this many seconds, until READY or the provisioning deadline.
   */
  recheckAfterSeconds?: number;
}

/** A longer window for a running bastion whose key can be rewritten in place. */
export interface ExtendPlan {
  session: Session;
  target: Target;
  /** the complete authorized_keys line with the new expiry-time */
  authorizedKey: string;
  /** the new self-destruct bound (layer 4), where the provider has one */
  selfDestructAt: number;
}

export type BastionState =
  | { state: 'pending'; recheckAfterSeconds?: number }
  | { state: 'running'; connection: Connection }
  | { state: 'gone' };

/** Something a provider created for this stage, found by its tags (or, locally, its pid file). */
export interface OwnedResource {
  kind: 'instance' | 'security-group' | 'process' | 'ssm-session';
  id: string;
  /** the drawbridge:session tag; undefined when the tag is missing */
  sessionId?: string;
}

export type DestroyOutcome = 'destroyed' | 'retry-later';

/**
 * One way of giving a session a bastion. Implementations translate their SDK's errors into
 * ProvisioningError; nothing above them sees an SDK type.
 */
export interface Provider {
  readonly mode: Mode;
  /** Creates the bastion. On failure it must leave nothing running (best effort) and throw ProvisioningError. */
  launch(plan: LaunchPlan): Promise<LaunchResult>;
  inspect(session: Session): Promise<BastionState>;
  /** Ends the bastion and frees what it used. Idempotent; resources that cannot go yet are left to reconciliation. */
  release(session: Session): Promise<void>;
  /**
   * Optional: frees what outlives the bastion itself, called when the bastion is reported
   * terminated (ec2: the security group, which the instance's interface holds until then).
   * Best effort; the reaper's reconciliation is the backstop.
   */
  releaseLeftovers?(session: Session): Promise<void>;
  /** Everything tagged with this stage, for the reaper's reconciliation. */
  listOwned(): Promise<OwnedResource[]>;
  destroy(resource: OwnedResource): Promise<DestroyOutcome>;
  /**
   * Optional: moves layer 1 (and 4) of a running bastion to a later bound by rewriting its key.
   * Providers without it (ec2: nothing can reach into the bastion) keep the bound written at
   * launch, and extensions stay within it (lib/domain/extension.ts).
   */
  extend?(plan: ExtendPlan): Promise<void>;
}

export type Providers = Partial<Record<Mode, Provider>>;

/**
 * Checks a target before a session is created (an existing instance must be reachable now), so
 * a refusal answers 409 and takes no quota. Returns resources to record on the new session.
 * Throws ConflictError when the target cannot be used now. Apart from Provider so that
 * POST /sessions loads only what the check needs.
 */
export interface TargetCheck {
  checkTarget(target: Target): Promise<SessionResources>;
}

export type TargetChecks = Partial<Record<Mode, TargetCheck>>;
