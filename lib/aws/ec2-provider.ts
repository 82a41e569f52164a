import type {
  _InstanceType,
  EC2Client,
  Filter,
  Instance,
  ResourceType,
  Tag,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { ConfigError, ProvisioningError } from '../domain/errors.ts';
import { hostCidr, parseCidr } from '../domain/network.ts';
import { bannerOf } from '../domain/policy.ts';
import type { Session } from '../domain/session.ts';
import type {
  BastionState,
  DestroyOutcome,
  LaunchPlan,
  LaunchResult,
  OwnedResource,
  Provider,
} from '../ports/provider.ts';
import {
  errorName,
  isCapacity,
  isDependencyViolation,
  isNotFound,
  isThrottling,
} from './aws-errors.ts';
import { BastionSecurityGroups, logShippingEgress, SSH_PORT } from './bastion-security-groups.ts';
import { buildBastionUserData } from './cloud-config.ts';
import { type Ec2Sdk, loadEc2Sdk } from './ec2-client.ts';
import {
  TAG_EXPIRES_AT,
  TAG_LAUNCH_TEMPLATE,
  TAG_OWNER,
  TAG_SESSION,
  TAG_STAGE,
} from './ec2-tags.ts';
import { allPages } from './pages.ts';

export {
  logShippingEgress,
  TAG_EXPIRES_AT,
  TAG_LAUNCH_TEMPLATE,
  TAG_OWNER,
  TAG_SESSION,
  TAG_STAGE,
};

export interface Ec2ProviderOptions {
  ec2: EC2Client;
  stage: string;
  launchTemplateId: string;
  logGroupName: string;
}

const LIVE_INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/**
 * Tag values are safest within letters, digits, spaces and `+ - = . _ : / @` (the set every
 * AWS service accepts) and at most 256 characters. Owners come from OIDC subjects, which may
 * hold anything: the tag is for people and cost reports, so a lossy value is acceptable; the
 * exact owner stays in the session table.
 */
export function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9 +\-=._:/@]/g, '_').slice(0, 256);
}

const tagOf = (tags: Tag[] | undefined, key: string): string | undefined =>
  tags?.find((tag) => tag.Key === key)?.Value;

/**
 * What differs between bastions launched on this path: an ec2 bastion admits ssh from the
 * caller; a fresh ssm bastion admits nothing at all (Session Manager's agent dials out over 443)
 * and carries its own user data and instance profile.
 */
export interface BastionFlavour {
  ingress: 'ssh' | 'none';
  /** cloud-config, as text */
  userData: string;
  /** replaces the launch template's instance profile */
  instanceProfileArn?: string;
}

type Step =
  | 'creating the security group'
  | 'restricting the security group'
  | 'launching the instance';

/**
 * One fresh bastion instance per session, behind a security group of its own. See DESIGN.md
 * (ec2 mode) for what the launch template guarantees; the per-session parts are built here.
 */
export class Ec2Provider implements Provider {
  readonly mode = 'ec2' as const;
  readonly #ec2: EC2Client;
  readonly #stage: string;
  readonly #launchTemplateId: string;
  readonly #logGroupName: string;
  readonly #groups: BastionSecurityGroups;

  constructor(options: Ec2ProviderOptions) {
    // The stage becomes part of security group names and tag filters.
    if (!/^[A-Za-z0-9-]{1,40}$/.test(options.stage)) {
      throw new ConfigError('stage must be 1-40 letters, digits or dashes');
    }
    this.#ec2 = options.ec2;
    this.#stage = options.stage;
    this.#launchTemplateId = options.launchTemplateId;
    this.#logGroupName = options.logGroupName;
    this.#groups = new BastionSecurityGroups(options.ec2, options.stage);
  }

  async launch(plan: LaunchPlan): Promise<LaunchResult> {
    const { session, target } = plan;
    let userData: string;
    try {
      userData = buildBastionUserData({
        sessionId: session.id,
        linuxUser: session.linuxUser,
        authorizedKey: plan.authorizedKey,
        access: target.access,
        targetHost: target.host,
        targetPort: target.port,
        selfDestructAt: plan.selfDestructAt,
        hostKey: requireHostKey(plan),
        logGroupName: this.#logGroupName,
        banner: bannerOf(target),
        ...(target.recording === 'full'
          ? {
              recording: {
                recordInput: target.recordInput,
                ...(target.idleTimeoutMinutes
                  ? { idleSeconds: target.idleTimeoutMinutes * 60 }
                  : {}),
              },
            }
          : {}),
      });
    } catch (error) {
      // Our own validation message: it names the field and carries no SDK text.
      throw new ProvisioningError(`bastion user data refused: ${(error as Error).message}`);
    }
    return this.launchBastion(plan, { ingress: 'ssh', userData });
  }

  /** The launch path itself: security group, its rules, the instance. Shared with ssm's fresh bastions. */
  async launchBastion(plan: LaunchPlan, flavour: BastionFlavour): Promise<LaunchResult> {
    const { session, target } = plan;
    const network = target.network;
    if (!network)
      throw new ProvisioningError(`target '${target.name}' has no network for a bastion`);
    const callerCidr = flavour.ingress === 'ssh' ? this.#callerCidr(session) : undefined;
    let targetCidr: string;
    try {
      targetCidr = hostCidr(target.host);
    } catch {
      throw new ProvisioningError(
        `target '${target.name}' host must be an IP address for a bastion`,
      );
    }

    const tags = this.#tags(session);
    let step: Step = 'creating the security group';
    let groupId: string | undefined;
    try {
      groupId = await this.#groups.create(session, network.vpcId, tags);
      step = 'restricting the security group';
      await this.#groups.restrict(
        groupId,
        session,
        callerCidr,
        targetCidr,
        target.port,
        tags,
        network.logShipping ?? {},
      );
      step = 'launching the instance';
      // IPv6 callers connect over IPv6, and an IPv6 target is reached over IPv6.
      const needsIpv6 =
        (callerCidr !== undefined && parseCidr(callerCidr).version === 6) ||
        parseCidr(targetCidr).version === 6;
      const placed = await this.#runInstance(
        session,
        groupId,
        network.subnetIds,
        target.instanceTypes,
        Buffer.from(flavour.userData, 'utf8').toString('base64'),
        needsIpv6,
        tags,
        flavour.instanceProfileArn,
      );
      return { resources: { ...placed, securityGroupId: groupId } };
    } catch (error) {
      if (groupId) await this.#groups.deleteQuietly(groupId);
      throw this.#failure(error, step);
    }
  }

  async inspect(session: Session): Promise<BastionState> {
    const instanceId = session.resources.instanceId;
    if (!instanceId) return { state: 'gone' };
    let instance: Instance | undefined;
    try {
      const output = await this.#send((sdk) =>
        this.#ec2.send(new sdk.DescribeInstancesCommand({ InstanceIds: [instanceId] })),
      );
      instance = output.Reservations?.[0]?.Instances?.[0];
    } catch (error) {
      if (!isNotFound(error)) throw this.#failure(error, 'describing the instance');
    }
    if (!instance) {
      // EC2 is eventually consistent: an instance RunInstances just returned can be unknown to
      // DescribeInstances for a few seconds. While provisioning, the deadline bounds the wait.
      return session.status === 'PROVISIONING' ? { state: 'pending' } : { state: 'gone' };
    }
    const state = instance.State?.Name;
    if (state === 'pending') return { state: 'pending' };
    if (state !== 'running') return { state: 'gone' };
    const callerIsIpv6 = session.sourceCidr.includes(':');
    const bastionHost = callerIsIpv6
      ? (instance.Ipv6Address ?? instance.PublicIpAddress ?? instance.PrivateIpAddress)
      : (instance.PublicIpAddress ?? instance.Ipv6Address ?? instance.PrivateIpAddress);
    if (!bastionHost) return { state: 'pending' };
    return {
      state: 'running',
      connection: { bastionHost, bastionPort: SSH_PORT, linuxUser: session.linuxUser },
    };
  }

  async release(session: Session): Promise<void> {
    try {
      // No instance id recorded covers RunInstances succeeding while the store write failed.
      const instanceIds = session.resources.instanceId
        ? [session.resources.instanceId]
        : await this.#findSessionInstances(session.id);
      if (instanceIds.length > 0) {
        // The instance's interface holds its group until EC2 reports it terminated, so a
        // delete now always fails: releaseLeftovers deletes it on that state-change event.
        await this.#terminate(instanceIds);
        return;
      }
      await this.releaseLeftovers(session);
    } catch (error) {
      throw this.#failure(error, 'releasing the bastion', true);
    }
  }

  /**
   * Deletes the session's security group once its instance is terminated (on EC2's state-change
   * event). Quiet when it cannot go yet: the reaper's reconciliation is the backstop.
   */
  async releaseLeftovers(session: Session): Promise<void> {
    let groupIds: string[];
    try {
      groupIds = session.resources.securityGroupId
        ? [session.resources.securityGroupId]
        : await this.#groups.findForSession(session.id);
    } catch (error) {
      throw this.#failure(error, 'finding the security group', true);
    }
    for (const groupId of groupIds) await this.#groups.deleteQuietly(groupId);
  }

  async listOwned(): Promise<OwnedResource[]> {
    const stageFilter: Filter = { Name: `tag:${TAG_STAGE}`, Values: [this.#stage] };
    try {
      const instances = await allPages(
        (token) =>
          this.#send((sdk) =>
            this.#ec2.send(
              new sdk.DescribeInstancesCommand({
                Filters: [
                  stageFilter,
                  this.#launchTemplateFilter(),
                  { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES },
                ],
                MaxResults: 1000,
                NextToken: token,
              }),
            ),
          ),
        (page) => page.Reservations?.flatMap((r) => r.Instances ?? []),
      );
      const groups = await allPages(
        (token) =>
          this.#send((sdk) =>
            this.#ec2.send(
              new sdk.DescribeSecurityGroupsCommand({
                Filters: [stageFilter],
                MaxResults: 1000,
                NextToken: token,
              }),
            ),
          ),
        (page) => page.SecurityGroups,
      );
      const owned: OwnedResource[] = [];
      for (const instance of instances) {
        if (!instance.InstanceId) continue;
        owned.push({
          kind: 'instance',
          id: instance.InstanceId,
          sessionId: tagOf(instance.Tags, TAG_SESSION),
        });
      }
      for (const group of groups) {
        if (!group.GroupId) continue;
        owned.push({
          kind: 'security-group',
          id: group.GroupId,
          sessionId: tagOf(group.Tags, TAG_SESSION),
        });
      }
      return owned;
    } catch (error) {
      throw this.#failure(error, 'listing owned resources', true);
    }
  }

  async destroy(resource: OwnedResource): Promise<DestroyOutcome> {
    if (resource.kind === 'process') {
      throw new ProvisioningError('the ec2 provider does not own processes');
    }
    try {
      if (resource.kind === 'instance') {
        await this.#send((sdk) =>
          this.#ec2.send(new sdk.TerminateInstancesCommand({ InstanceIds: [resource.id] })),
        );
      } else {
        await this.#send((sdk) =>
          this.#ec2.send(new sdk.DeleteSecurityGroupCommand({ GroupId: resource.id })),
        );
      }
      return 'destroyed';
    } catch (error) {
      if (isNotFound(error)) return 'destroyed';
      // The ENI of a terminating instance holds the group for a minute or two.
      if (isDependencyViolation(error) || isThrottling(error)) return 'retry-later';
      throw this.#failure(error, `destroying ${resource.kind} ${resource.id}`, true);
    }
  }

  /**
   * Every EC2 call: the SDK module is loaded on the first (lib/aws/ec2-client.ts); throttling
   * is retried by the client's own strategy (lib/aws/client-settings.ts), once.
   */
  async #send<T>(call: (sdk: Ec2Sdk) => Promise<T>): Promise<T> {
    return call(await loadEc2Sdk());
  }

  #callerCidr(session: Session): string {
    try {
      const cidr = parseCidr(session.sourceCidr);
      if (cidr.prefix === (cidr.version === 4 ? 32 : 128)) return session.sourceCidr;
    } catch {
      // reported below
    }
    throw new ProvisioningError('the caller address must be a single address (/32 or /128)');
  }

  #tags(session: Session): Tag[] {
    return [
      { Key: 'Name', Value: this.#groups.name(session.id) },
      { Key: TAG_SESSION, Value: session.id },
      { Key: TAG_OWNER, Value: tagValue(session.owner) },
      { Key: TAG_EXPIRES_AT, Value: new Date(session.credentialExpiresAt).toISOString() },
      { Key: TAG_STAGE, Value: this.#stage },
    ];
  }

  #sessionInstanceFilters(sessionId: string): Filter[] {
    return [
      { Name: `tag:${TAG_SESSION}`, Values: [sessionId] },
      { Name: `tag:${TAG_STAGE}`, Values: [this.#stage] },
      this.#launchTemplateFilter(),
      { Name: 'instance-state-name', Values: LIVE_INSTANCE_STATES },
    ];
  }

  #launchTemplateFilter(): Filter {
    return { Name: `tag:${TAG_LAUNCH_TEMPLATE}`, Values: [this.#launchTemplateId] };
  }

  /**
   * Tries each instance type in preference order across every subnet before the next type,
   * so a capacity shortage in one zone does not change what the bastion costs. RunInstances is
   * idempotent per ClientToken, and EC2 rejects a token reused with other parameters: each
   * (subnet, type) combination therefore gets its own token, the first one the bare session id.
   */
  async #runInstance(
    session: Session,
    groupId: string,
    subnetIds: readonly string[],
    instanceTypes: readonly string[],
    userData: string,
    needsIpv6: boolean,
    tags: Tag[],
    instanceProfileArn?: string,
  ): Promise<{ instanceId: string; subnetId: string; instanceType: string }> {
    const combinations = instanceTypes.flatMap((instanceType) =>
      subnetIds.map((subnetId) => ({ subnetId, instanceType })),
    );
    const tagged = (resourceType: ResourceType): TagSpecification => ({
      ResourceType: resourceType,
      Tags: tags,
    });
    for (const [index, { subnetId, instanceType }] of combinations.entries()) {
      try {
        const output = await this.#send((sdk) =>
          this.#ec2.send(
            new sdk.RunInstancesCommand({
              LaunchTemplate: { LaunchTemplateId: this.#launchTemplateId, Version: '$Default' },
              // policy validates the shape; EC2 itself says whether the type exists
              InstanceType: instanceType as _InstanceType,
              MinCount: 1,
              MaxCount: 1,
              NetworkInterfaces: [
                {
                  DeviceIndex: 0,
                  SubnetId: subnetId,
                  Groups: [groupId],
                  AssociatePublicIpAddress: true,
                  DeleteOnTermination: true,
                  ...(needsIpv6 ? { Ipv6AddressCount: 1 } : {}),
                },
              ],
              UserData: userData,
              ...(instanceProfileArn ? { IamInstanceProfile: { Arn: instanceProfileArn } } : {}),
              // Also set in the launch template; repeated so a drifted template cannot weaken it.
              MetadataOptions: {
                HttpTokens: 'required',
                HttpPutResponseHopLimit: 1,
                HttpEndpoint: 'enabled',
                InstanceMetadataTags: 'disabled',
              },
              InstanceInitiatedShutdownBehavior: 'terminate',
              TagSpecifications: [
                tagged('instance'),
                tagged('volume'),
                tagged('network-interface'),
              ],
              ClientToken: index === 0 ? session.id : `${session.id}-${index}`,
            }),
          ),
        );
        const instanceId = output.Instances?.[0]?.InstanceId;
        if (!instanceId)
          throw new ProvisioningError('EC2 accepted the launch but named no instance');
        return { instanceId, subnetId, instanceType };
      } catch (error) {
        // A resumed launch (the first run died before recording it) can differ from the first
        // in its user data (the self-destruct minutes count from now): EC2 then refuses the
        // token instead of returning the instance, which is found again by its tags.
        if (errorName(error) === 'IdempotentParameterMismatch') {
          const existing = await this.#findSessionInstance(session.id);
          if (existing) return existing;
        }
        if (!isCapacity(error)) throw error;
      }
    }
    throw new ProvisioningError(
      `no capacity for ${instanceTypes.join(', ')} in ${subnetIds.join(', ')}`,
      { retryable: true },
    );
  }

  async #findSessionInstances(sessionId: string): Promise<string[]> {
    const output = await this.#send((sdk) =>
      this.#ec2.send(
        new sdk.DescribeInstancesCommand({ Filters: this.#sessionInstanceFilters(sessionId) }),
      ),
    );
    return (output.Reservations ?? [])
      .flatMap((reservation) => reservation.Instances ?? [])
      .flatMap((instance) => (instance.InstanceId ? [instance.InstanceId] : []));
  }

  async #findSessionInstance(
    sessionId: string,
  ): Promise<{ instanceId: string; subnetId: string; instanceType: string } | undefined> {
    const output = await this.#send((sdk) =>
      this.#ec2.send(
        new sdk.DescribeInstancesCommand({ Filters: this.#sessionInstanceFilters(sessionId) }),
      ),
    );
    const instance = (output.Reservations ?? []).flatMap((r) => r.Instances ?? [])[0];
    if (!instance?.InstanceId || !instance.SubnetId || !instance.InstanceType) return undefined;
    return {
      instanceId: instance.InstanceId,
      subnetId: instance.SubnetId,
      instanceType: instance.InstanceType,
    };
  }

  async #terminate(instanceIds: string[]): Promise<void> {
    try {
      await this.#send((sdk) =>
        this.#ec2.send(new sdk.TerminateInstancesCommand({ InstanceIds: instanceIds })),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Only the AWS error code reaches the reason: SDK messages can quote request details. */
  #failure(error: unknown, step: string, retryable = false): ProvisioningError {
    if (error instanceof ProvisioningError) return error;
    const code = errorName(error);
    if (isThrottling(error)) {
      return new ProvisioningError(`EC2 throttled ${step} through every retry (${code})`, {
        cause: error,
        retryable: true,
      });
    }
    return new ProvisioningError(`${step} failed: ${code}`, { cause: error, retryable });
  }
}

function requireHostKey(plan: LaunchPlan): NonNullable<LaunchPlan['hostKey']> {
  if (!plan.hostKey) throw new Error('no host key was issued for the session');
  return plan.hostKey;
}
