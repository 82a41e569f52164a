import type { AppDeps } from '../../lib/app/deps.ts';
import type { AuditEvent } from '../../lib/domain/audit.ts';
import type { ProvisioningError } from '../../lib/domain/errors.ts';
import type { Policy } from '../../lib/domain/policy.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Session } from '../../lib/domain/session.ts';
import type { AuditLog } from '../../lib/ports/audit-log.ts';
import type { Clock } from '../../lib/ports/clock.ts';
import type { ExpiryScheduler } from '../../lib/ports/expiry-scheduler.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import type { Notification, Notifier } from '../../lib/ports/notifier.ts';
import type {
  BastionState,
  ExtendPlan,
  LaunchPlan,
  LaunchResult,
  OwnedResource,
  Provider,
} from '../../lib/ports/provider.ts';
import type { ProvisionQueue } from '../../lib/ports/provision-queue.ts';
import { InMemorySessionStore } from './in-memory-session-store.ts';

export class FakeClock implements Clock {
  current: number;
  constructor(start = Date.parse('2026-11-24T09:00:00.000Z')) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A provider whose bastions are entries in a map; `instant` ones are usable at launch (like local). */
export class FakeProvider implements Provider {
  readonly mode: 'ec2' | 'local';
  readonly launched: LaunchPlan[] = [];
  readonly running = new Map<string, { sessionId: string; state: 'pending' | 'running' }>();
  released: string[] = [];
  failLaunch: ProvisioningError | Error | undefined;
  failRelease: Error | undefined;
  /** key rewrites asked of a local bastion (ec2 has none: its key is fixed at launch) */
  readonly extended: ExtendPlan[] = [];
  failExtend: Error | undefined;
  readonly extend: ((plan: ExtendPlan) => Promise<void>) | undefined;
  private counter = 0;

  constructor(mode: 'ec2' | 'local' = 'ec2') {
    this.mode = mode;
    // Like the real providers: the local sshd's key file can be rewritten, an ec2 bastion's not.
    this.extend =
      mode === 'local'
        ? async (plan: ExtendPlan) => {
            if (this.failExtend) throw this.failExtend;
            this.extended.push(plan);
          }
        : undefined;
  }

  async launch(plan: LaunchPlan): Promise<LaunchResult> {
    this.launched.push(plan);
    if (this.failLaunch) throw this.failLaunch;
    // Idempotent per session, as the real launches are (ClientToken, sshd re-adopted).
    const existing = this.resourceId(plan.session);
    if (existing && this.mode === 'ec2')
      return { resources: { instanceId: existing, securityGroupId: `sg-${existing}` } };
    this.counter += 1;
    const instanceId = `i-${String(this.counter).padStart(17, '0')}`;
    if (this.mode === 'local') {
      this.running.set(instanceId, { sessionId: plan.session.id, state: 'running' });
      return {
        resources: { pid: 1000 + this.counter },
        connection: this.connectionFor(plan.session),
      };
    }
    this.running.set(instanceId, { sessionId: plan.session.id, state: 'pending' });
    return { resources: { instanceId, securityGroupId: `sg-${instanceId}` } };
  }

  async inspect(session: Session): Promise<BastionState> {
    const id = this.resourceId(session);
    const bastion = id ? this.running.get(id) : undefined;
    if (!bastion) return { state: 'gone' };
    return bastion.state === 'running'
      ? { state: 'running', connection: this.connectionFor(session) }
      : { state: 'pending' };
  }

  async release(session: Session): Promise<void> {
    if (this.failRelease) throw this.failRelease;
    for (const [id, bastion] of this.running) {
      if (bastion.sessionId === session.id) this.running.delete(id);
    }
    this.released.push(session.id);
  }

  async listOwned(): Promise<OwnedResource[]> {
    return [...this.running].map(([id, bastion]) => ({
      kind: 'instance' as const,
      id,
      sessionId: bastion.sessionId,
    }));
  }

  async destroy(resource: OwnedResource): Promise<'destroyed'> {
    this.running.delete(resource.id);
    return 'destroyed';
  }

  connectionFor(session: Session) {
    return { bastionHost: '198.51.100.7', bastionPort: 22, linuxUser: session.linuxUser };
  }

  private resourceId(session: Session): string | undefined {
    for (const [id, bastion] of this.running) if (bastion.sessionId === session.id) return id;
    return undefined;
  }
}

export class FakeScheduler implements ExpiryScheduler {
  readonly schedules = new Map<string, number>();
  failSchedule: Error | undefined;
  async schedule(session: Session): Promise<string> {
    if (this.failSchedule) throw this.failSchedule;
    this.schedules.set(session.id, session.expiresAt ?? 0);
    return session.id;
  }
  async cancel(session: Session): Promise<void> {
    this.schedules.delete(session.id);
  }
}

export class FakeQueue implements ProvisionQueue {
  readonly queued: string[] = [];
  /** every enqueue with its options, in order */
  readonly messages: { sessionId: string; delaySeconds?: number }[] = [];
  failEnqueue: Error | undefined;
  async enqueue(sessionId: string, options: { delaySeconds?: number } = {}): Promise<void> {
    if (this.failEnqueue) throw this.failEnqueue;
    this.queued.push(sessionId);
    this.messages.push({ sessionId, ...options });
  }
}

export class FakeNotifier implements Notifier {
  readonly sent: Notification[] = [];
  failPublish: Error | undefined;
  async publish(notification: Notification): Promise<void> {
    if (this.failPublish) throw this.failPublish;
    this.sent.push(notification);
  }
}

export class RecordingAuditLog implements AuditLog {
  readonly events: AuditEvent[] = [];
  record(event: AuditEvent): void {
    this.events.push(event);
  }
}

export const TEST_POLICY_YAML = `
version: 1
adminGroup: drawbridge-admins
quota:
  activeSessionsPerUser: 2
provisioningDeadlineMinutes: 10
selfDestructGraceMinutes: 5
targets:
  - name: prod-db
    mode: ec2
    host: 10.0.1.20
    port: 5432
    allowedGroups: [dba]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
    instanceTypes: [t4g.nano]
  - name: office-only
    mode: ec2
    host: 10.0.2.30
    port: 22
    allowedGroups: [dba]
    allowedSourceCidrs: [203.0.113.0/24]
    defaultDurationMinutes: 15
    maxDurationMinutes: 60
    network:
      vpcId: vpc-0123456789abcdef0
      subnetIds: [subnet-0123456789abcdef0]
  - name: demo
    mode: local
    host: 127.0.0.1
    port: 7777
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 60
`;

export const testPolicy = (): Policy => parsePolicy(TEST_POLICY_YAML, 'test policy');

export interface TestWorld {
  deps: AppDeps;
  clock: FakeClock;
  store: InMemorySessionStore;
  ec2: FakeProvider;
  local: FakeProvider;
  scheduler: FakeScheduler;
  queue: FakeQueue;
  audit: RecordingAuditLog;
  notifier: FakeNotifier;
}

export function testWorld(policy: Policy = testPolicy()): TestWorld {
  const clock = new FakeClock();
  const store = new InMemorySessionStore(clock);
  const ec2 = new FakeProvider('ec2');
  const local = new FakeProvider('local');
  const scheduler = new FakeScheduler();
  const queue = new FakeQueue();
  const audit = new RecordingAuditLog();
  const notifier = new FakeNotifier();
  const deps: AppDeps = {
    policy,
    store,
    providers: { ec2, local },
    scheduler,
    queue,
    auditLog: audit,
    clock,
    logger: silentLogger,
    notifier,
  };
  return { deps, clock, store, ec2, local, scheduler, queue, audit, notifier };
}
