import type { EC2Client, IpPermission, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { ProvisioningError } from '../domain/errors.ts';
import { parseCidr } from '../domain/network.ts';
import type { Session } from '../domain/session.ts';
import { errorName } from './aws-errors.ts';
import { type Ec2Sdk, loadEc2Sdk } from './ec2-client.ts';
import { TAG_SESSION, TAG_STAGE } from './ec2-tags.ts';

export const SSH_PORT = 22;

/** The 443 egress rule to the log-shipping endpoints, or none when the network names none. */
export function logShippingEgress(
  sessionId: string,
  logShipping: { securityGroupIds?: string[]; prefixListIds?: string[] },
): IpPermission[] {
  const Description = `drawbridge ${sessionId} log shipping`;
  const groups = logShipping.securityGroupIds ?? [];
  const prefixLists = logShipping.prefixListIds ?? [];
  if (groups.length === 0 && prefixLists.length === 0) return [];
  return [
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      ...(groups.length > 0
        ? { UserIdGroupPairs: groups.map((GroupId) => ({ GroupId, Description })) }
        : {}),
      ...(prefixLists.length > 0
        ? { PrefixListIds: prefixLists.map((PrefixListId) => ({ PrefixListId, Description })) }
        : {}),
    },
  ];
}

/** IpRanges for IPv4, Ipv6Ranges for IPv6: EC2 keeps the two families in separate fields. */
function addressRange(
  cidr: string,
  description: string,
): Pick<IpPermission, 'IpRanges' | 'Ipv6Ranges'> {
  return parseCidr(cidr).version === 4
    ? { IpRanges: [{ CidrIp: cidr, Description: description }] }
    : { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] };
}

/**
 * A bastion's own security group: created per session (found again by name when a launch is
 * redelivered), stripped of the default egress, then given only the caller's SSH ingress, the
 * target's address and port, and HTTPS to the log-shipping endpoints.
 */
export class BastionSecurityGroups {
  readonly #ec2: EC2Client;
  readonly #stage: string;

  constructor(ec2: EC2Client, stage: string) {
    this.#ec2 = ec2;
    this.#stage = stage;
  }

  async #send<T>(call: (sdk: Ec2Sdk) => Promise<T>): Promise<T> {
    return call(await loadEc2Sdk());
  }

  /** The group's name, unique per stage and session (and found again by it). */
  name(sessionId: string): string {
    return `drawbridge-${this.#stage}-${sessionId}`;
  }

  async create(session: Session, vpcId: string, tags: Tag[]): Promise<string> {
    const groupName = this.name(session.id);
    try {
      const output = await this.#send((sdk) =>
        this.#ec2.send(
          new sdk.CreateSecurityGroupCommand({
            GroupName: groupName,
            Description: `Drawbridge bastion for session ${session.id}`,
            VpcId: vpcId,
            TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
          }),
        ),
      );
      if (!output.GroupId) throw new ProvisioningError('EC2 created no security group id');
      return output.GroupId;
    } catch (error) {
      // A redelivered launch for the same session finds its group already there: reuse it.
      if (errorName(error) !== 'InvalidGroup.Duplicate') throw error;
      const output = await this.#send((sdk) =>
        this.#ec2.send(
          new sdk.DescribeSecurityGroupsCommand({
            Filters: [
              { Name: 'group-name', Values: [groupName] },
              { Name: 'vpc-id', Values: [vpcId] },
            ],
          }),
        ),
      );
      const existing = output.SecurityGroups?.[0]?.GroupId;
      if (!existing) throw error;
      return existing;
    }
  }

  async restrict(
    groupId: string,
    session: Session,
    /** undefined: no inbound rule at all */
    callerCidr: string | undefined,
    targetCidr: string,
    targetPort: number,
    tags: Tag[],
    logShipping: { securityGroupIds?: string[]; prefixListIds?: string[] },
  ): Promise<void> {
    const ruleTags: TagSpecification[] = [{ ResourceType: 'security-group-rule', Tags: tags }];
    // A new VPC security group allows all IPv4 egress (and no IPv6 egress); take it away.
    await this.#ignoring('InvalidPermission.NotFound', () =>
      this.#send((sdk) =>
        this.#ec2.send(
          new sdk.RevokeSecurityGroupEgressCommand({
            GroupId: groupId,
            IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
          }),
        ),
      ),
    );
    if (callerCidr !== undefined)
      await this.#ignoring('InvalidPermission.Duplicate', () =>
        this.#send((sdk) =>
          this.#ec2.send(
            new sdk.AuthorizeSecurityGroupIngressCommand({
              GroupId: groupId,
              IpPermissions: [
                {
                  IpProtocol: 'tcp',
                  FromPort: SSH_PORT,
                  ToPort: SSH_PORT,
                  ...addressRange(callerCidr, `drawbridge ${session.id}`),
                },
              ],
              TagSpecifications: ruleTags,
            }),
          ),
        ),
      );
    await this.#ignoring('InvalidPermission.Duplicate', () =>
      this.#send((sdk) =>
        this.#ec2.send(
          new sdk.AuthorizeSecurityGroupEgressCommand({
            GroupId: groupId,
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: targetPort,
                ToPort: targetPort,
                ...addressRange(targetCidr, `drawbridge ${session.id} target`),
              },
              // HTTPS only to what log shipping needs, as the target's network names it (the
              // CloudWatch Logs endpoint's security group, prefix lists): never the internet, so
              // a shell user cannot reach arbitrary HTTPS hosts.
              ...logShippingEgress(session.id, logShipping),
            ],
            TagSpecifications: ruleTags,
          }),
        ),
      ),
    );
  }

  async findForSession(sessionId: string): Promise<string[]> {
    const output = await this.#send((sdk) =>
      this.#ec2.send(
        new sdk.DescribeSecurityGroupsCommand({
          Filters: [
            { Name: `tag:${TAG_SESSION}`, Values: [sessionId] },
            { Name: `tag:${TAG_STAGE}`, Values: [this.#stage] },
          ],
        }),
      ),
    );
    return (output.SecurityGroups ?? []).flatMap((group) => (group.GroupId ? [group.GroupId] : []));
  }

  /** The reaper reconciles what is left: a group held by a terminating ENI, or already gone. */
  async deleteQuietly(groupId: string): Promise<void> {
    try {
      await this.#send((sdk) =>
        this.#ec2.send(new sdk.DeleteSecurityGroupCommand({ GroupId: groupId })),
      );
    } catch {
      // best effort by design
    }
  }

  async #ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (errorName(error) !== code) throw error;
    }
  }
}
