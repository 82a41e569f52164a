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
}

export interface LaunchResult {
  resources: SessionResources;
  /** present when the bastion is usable as soon as launch returns (local mode) */
  connection?: Connection;
}

export type BastionState =
  | { state: 'pending' }
  | { state: 'running'; connection: Connection }
  | { state: 'gone' };

/** Something a provider created for this stage, found by its tags (or, locally, its pid file). */
export interface OwnedResource {
  kind: 'instance' | 'security-group' | 'process';
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
  /** Everything tagged with this stage, for the reaper's reconciliation. */
  listOwned(): Promise<OwnedResource[]>;
  destroy(resource: OwnedResource): Promise<DestroyOutcome>;
}

export type Providers = Partial<Record<Mode, Provider>>;
