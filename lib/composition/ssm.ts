import type { Ec2Provider } from '../aws/ec2-provider.ts';
import { ManagedInstances, SsmProvider } from '../aws/ssm-provider.ts';
import type { Config } from '../config.ts';

/**
 * The ssm provider, for the functions that act on sessions (provision, end, expire, reap, …).
 * Fresh ssm bastions take the ec2 provider's launch path, so the two share one instance.
 */
export function ssmProvider(cfg: Config, bastions: Ec2Provider): SsmProvider {
  return new SsmProvider({
    // the shared Systems Manager client, loaded on first use
    instances: new ManagedInstances({}),
    bastions,
    // Empty when the function has no ssm settings: the provider then owns no sessions.
    sessionRoleArn: cfg.optional.SSM_SESSION_ROLE_ARN ?? '',
    bastionInstanceProfileArn: cfg.optional.SSM_BASTION_INSTANCE_PROFILE_ARN ?? '',
  });
}
