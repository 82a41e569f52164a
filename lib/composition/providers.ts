import { ec2Client } from '../aws/ec2-client.ts';
import { Ec2Provider } from '../aws/ec2-provider.ts';
import { ManagedInstances, SsmProvider } from '../aws/ssm-provider.ts';
import type { Config } from '../config.ts';
import type { Mode } from '../domain/session.ts';
import type { Provider, Providers } from '../ports/provider.ts';

export const PROVIDER_SETTINGS = [
  'LAUNCH_TEMPLATE_ID',
  'BASTION_LOG_GROUP',
  'SSM_SESSION_ROLE_ARN',
  'SSM_BASTION_INSTANCE_PROFILE_ARN',
] as const;
type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];

/** A provider built on its first call, so a function that never acts on its mode never loads its SDK. */
function deferred(mode: Mode, get: () => Promise<Provider>): Provider {
  return {
    mode,
    launch: async (plan) => (await get()).launch(plan),
    inspect: async (session) => (await get()).inspect(session),
    release: async (session) => (await get()).release(session),
    listOwned: async () => (await get()).listOwned(),
    destroy: async (resource) => (await get()).destroy(resource),
  };
}

/**
 * The ec2 and ssm providers. The EC2 SDK (~500 ms to load) and the Systems Manager SDK are
 * imported on the first call that needs them (lib/aws/ec2-client.ts, lib/aws/ssm-provider.ts),
 * never at cold start. Fresh ssm bastions take the ec2 launch path, so the two share one
 * Ec2Provider, and acting on an ssm session loads the EC2 client too.
 */
export function cloudProviders(config: Config<ProviderSetting>): Providers {
  const { settings } = config;
  let built: Promise<{ ec2: Ec2Provider; ssm: SsmProvider }> | undefined;
  const build = () => {
    built ??= ec2Client().then((client) => {
      const ec2 = new Ec2Provider({
        ec2: client,
        stage: config.stage,
        launchTemplateId: settings.LAUNCH_TEMPLATE_ID,
        logGroupName: settings.BASTION_LOG_GROUP,
      });
      const ssm = new SsmProvider({
        instances: new ManagedInstances({}),
        bastions: ec2,
        sessionRoleArn: settings.SSM_SESSION_ROLE_ARN,
        bastionInstanceProfileArn: settings.SSM_BASTION_INSTANCE_PROFILE_ARN,
      });
      return { ec2, ssm };
    });
    return built;
  };
  return {
    ec2: deferred('ec2', async () => (await build()).ec2),
    ssm: deferred('ssm', async () => (await build()).ssm),
  };
}
