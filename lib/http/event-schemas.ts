import * as z from 'zod/mini';
import { SESSION_ID_PATTERN } from '../domain/session.ts';

/** What the provision queue and the expiry schedule carry: only a session id. */
export const SessionMessage = z.lazy(() =>
  z.strictObject({ sessionId: z.string().check(z.regex(SESSION_ID_PATTERN)) }),
);

/** The part of EventBridge's "EC2 Instance State-change Notification" we read. */
export const InstanceStateEvent = z.lazy(() =>
  z.object({
    source: z.literal('aws.ec2'),
    'detail-type': z.literal('EC2 Instance State-change Notification'),
    detail: z.object({
      'instance-id': z.string().check(z.regex(/^i-[0-9a-f]{8,17}$/)),
      state: z.string().check(z.regex(/^[a-z-]{1,32}$/)),
    }),
  }),
);
