import { ManagedInstances } from '../aws/ssm-provider.ts';
import type { TargetCheck } from '../ports/provider.ts';

/**
 * POST /sessions checks an ssm target (Online, one instance) before it takes quota. The
 * Systems Manager SDK is imported by the first ssm request only (lib/aws/ssm-provider.ts):
 * requests for other modes never pay for it at cold start.
 */
export const ssmTargetCheck: TargetCheck = new ManagedInstances({});
