import type {
  EC2Client,
  Filter,
  Instance,
  Ec2InstanceConnectEndpoint as InstanceConnectEndpoint,
} from '@aws-sdk/client-ec2';
import { type EiceInstanceRef, eiceInstanceRef } from '../domain/eice-session-policy.ts';
import { ConflictError, DrawbridgeError, ProvisioningError } from '../domain/errors.ts';
import type { Target } from '../domain/policy.ts';
import type { Connection, Session, SessionResources } from '../domain/session.ts';
import type {
  BastionState,
  DestroyOutcome,
  LaunchPlan,
  LaunchResult,
  OwnedResource,
  Provider,
  TargetCheck,
} from '../ports/provider.ts';
import { errorName } from './aws-errors.ts';
import { type Ec2Sdk, ec2Client, loadEc2Sdk } from './ec2-client.ts';
import { allPages } from './pages.ts';

/** An endpoint accepts tunnels only once created. */
const ENDPOINT_READY = 'create-complete';
const RUNNING = 'running';

export interface EiceProviderOptions {
  /** the shared client (ec2Client()) when absent */
  ec2?: EC2Client;
  findTarget: (name: string) => Target | undefined;
}

/**
 * The eice mode: no instance to launch, no port to open. At request time the target is
 * resolved to one running instance, its private address and an endpoint in its VPC (recorded on
 * the session, so the grant and the per-endpoint count need no further EC2 call); the session
 * is READY as soon as the provisioner has checked the instance still runs at that address.
 * Access itself is the credential grant (lib/aws/eice-grant.ts), bounded by its own time and
 * tunnel-duration conditions: at the end there is nothing to terminate, and a tunnel already
 * open ends at its maxTunnelDuration, never after the window.
 */
export class EiceProvider implements Provider, TargetCheck {
  readonly mode = 'eice' as const;
  readonly #ec2: EC2Client | undefined;
  readonly #findTarget: (name: string) => Target | undefined;

  constructor(options: EiceProviderOptions) {
    this.#ec2 = options.ec2;
    this.#findTarget = options.findTarget;
  }

  async checkTarget(target: Target): Promise<SessionResources> {
    const ref = eiceInstanceRef(target);
    let instance: Instance;
    let endpoint: InstanceConnectEndpoint;
    try {
      instance = pickRunning(target, ref, await this.#instances(ref));
      endpoint = await this.#endpointFor(target, instance);
    } catch (error) {
      throw failure(error, 'looking up the eice target');
    }
    const { InstanceId, PrivateIpAddress } = instance;
    const { InstanceConnectEndpointId, DnsName } = endpoint;
    if (!InstanceId || !PrivateIpAddress || !InstanceConnectEndpointId || !DnsName) {
      throw new ConflictError(`target '${target.name}': EC2 did not describe it completely`);
    }
    return {
      targetInstanceId: InstanceId,
      privateIpAddress: PrivateIpAddress,
      eiceEndpointId: InstanceConnectEndpointId,
      eiceEndpointDns: DnsName,
    };
  }

  /** The instance checked at request must still run, at the address the grant will pin. */
  async launch(plan: LaunchPlan): Promise<LaunchResult> {
    const { session, target } = plan;
    const { targetInstanceId, privateIpAddress } = session.resources;
    if (!targetInstanceId || !privateIpAddress || !session.resources.eiceEndpointId) {
      throw new ProvisioningError('the eice session records no instance or endpoint');
    }
    let instances: Instance[];
    try {
      instances = await this.#instances({ kind: 'instance', instanceId: targetInstanceId });
    } catch (error) {
      throw failure(error, 'checking the eice target');
    }
    const [instance] = instances;
    if (instance?.State?.Name !== RUNNING) {
      throw new ProvisioningError(`instance ${targetInstanceId} is no longer running`);
    }
    if (instance.PrivateIpAddress !== privateIpAddress) {
      throw new ProvisioningError(
        `instance ${targetInstanceId} changed its private address since the request`,
      );
    }
    return { resources: {}, connection: eiceConnection(session, target) };
  }

  async inspect(session: Session): Promise<BastionState> {
    const target = this.#findTarget(session.target);
    if (!target || !session.resources.targetInstanceId) return { state: 'gone' };
    return { state: 'running', connection: eiceConnection(session, target) };
  }

  /** Nothing was created: the grant's own bounds end access (README: "The eice mode"). */
  async release(): Promise<void> {}

  async listOwned(): Promise<OwnedResource[]> {
    return [];
  }

  async destroy(resource: OwnedResource): Promise<DestroyOutcome> {
    throw new ProvisioningError(`the eice provider owns no ${resource.kind}`);
  }

  async #instances(ref: EiceInstanceRef): Promise<Instance[]> {
    const filters: Filter[] =
      ref.kind === 'instance'
        ? []
        : Object.entries(ref.tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
    return allPages(
      (token) =>
        this.#call((sdk, client) =>
          client.send(
            new sdk.DescribeInstancesCommand({
              ...(ref.kind === 'instance'
                ? { InstanceIds: [ref.instanceId] }
                : { Filters: filters }),
              NextToken: token,
            }),
          ),
        ),
      (page) => page.Reservations?.flatMap((reservation) => reservation.Instances ?? []),
    );
  }

  /** The named endpoint (it must serve the instance's VPC), or one in that VPC. */
  async #endpointFor(target: Target, instance: Instance): Promise<InstanceConnectEndpoint> {
    const named = target.eice?.endpointId;
    const endpoints = await allPages(
      (token) =>
        this.#call((sdk, client) =>
          client.send(
            new sdk.DescribeInstanceConnectEndpointsCommand({
              ...(named
                ? { InstanceConnectEndpointIds: [named] }
                : { Filters: [{ Name: 'vpc-id', Values: [instance.VpcId ?? ''] }] }),
              NextToken: token,
            }),
          ),
        ),
      (page) => page.InstanceConnectEndpoints,
    );
    const usable = endpoints
      .filter((endpoint) => endpoint.State === ENDPOINT_READY && endpoint.VpcId === instance.VpcId)
      .sort((a, b) =>
        (a.InstanceConnectEndpointId ?? '').localeCompare(b.InstanceConnectEndpointId ?? ''),
      );
    // The AWS CLI prefers an endpoint in the instance's own subnet; so does Drawbridge.
    const chosen = usable.find((endpoint) => endpoint.SubnetId === instance.SubnetId) ?? usable[0];
    if (chosen) return chosen;
    throw new ConflictError(
      named
        ? `target '${target.name}': endpoint ${named} is not ready in the VPC of instance ${instance.InstanceId ?? '?'}`
        : `target '${target.name}': no ready EC2 Instance Connect Endpoint in VPC ${instance.VpcId ?? '?'}`,
    );
  }

  async #call<T>(call: (sdk: Ec2Sdk, client: EC2Client) => Promise<T>): Promise<T> {
    const sdk = await loadEc2Sdk();
    const client = this.#ec2 ?? (await ec2Client());
    return call(sdk, client);
  }
}

/** Where ssh goes: the instance, through the endpoint, as the target's OS user. */
function eiceConnection(session: Session, target: Target): Connection {
  return {
    bastionHost: session.resources.eiceEndpointDns ?? '',
    bastionPort: target.port,
    linuxUser: target.eice?.osUser ?? session.linuxUser,
  };
}

function pickRunning(target: Target, ref: EiceInstanceRef, instances: Instance[]): Instance {
  const what =
    ref.kind === 'instance'
      ? `instance ${ref.instanceId}`
      : `tags ${Object.entries(ref.tags)
          .map(([key, value]) => `${key}=${value}`)
          .join(', ')}`;
  const running = instances.filter((instance) => instance.State?.Name === RUNNING);
  const [only, ...others] = running;
  if (only && others.length === 0) return only;
  if (running.length > 1) {
    const ids = running.map((instance) => instance.InstanceId).join(', ');
    throw new ConflictError(
      `target '${target.name}': ${what} match ${running.length} running instances (${ids}); the policy must single out one`,
    );
  }
  throw new ConflictError(`target '${target.name}': no running instance with ${what}`);
}

/** Only the AWS error code reaches the reason: SDK messages can quote request details. */
function failure(error: unknown, step: string): DrawbridgeError {
  if (error instanceof DrawbridgeError) return error;
  return new ProvisioningError(`${step} failed: ${errorName(error)}`, {
    cause: error,
    retryable: true,
  });
}
