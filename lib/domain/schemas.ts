import * as z from 'zod';
import type { AuditEvent } from './audit.ts';
import { REVIEW_VERDICTS, type Review } from './break-glass.ts';
import {
  EndReason,
  MODES,
  NOTIFY_EVENTS,
  QuotaKind,
  type Session,
  SessionStatus,
} from './session.ts';
import type { ReaperDay } from './usage.ts';

/**
 * The domain types as zod schemas, each checked against its TypeScript type (`z.ZodType<T>`),
 * for reading them back from wherever they were stored (a required field the schema lacks
 * fails to compile). The adapters reuse these rather than keep their own copies.
 */

const ResourcesSchema = z.lazy(() =>
  z.object({
    instanceId: z.string().optional(),
    securityGroupId: z.string().optional(),
    subnetId: z.string().optional(),
    instanceType: z.string().optional(),
    pid: z.number().int().optional(),
    targetInstanceId: z.string().optional(),
    eiceEndpointId: z.string().optional(),
    eiceEndpointDns: z.string().optional(),
    privateIpAddress: z.string().optional(),
  }),
);

const ConnectionSchema = z.lazy(() =>
  z.object({
    bastionHost: z.string(),
    bastionPort: z.number().int(),
    linuxUser: z.string(),
    hostKeyFingerprint: z.string().optional(),
  }),
);

export const SessionSchema: z.ZodType<Session> = z.lazy(() =>
  z.object({
    id: z.string().min(1),
    owner: z.string().min(1),
    ownerGroups: z.array(z.string()),
    sourceIp: z.string(),
    sourceCidr: z.string(),
    target: z.string(),
    mode: z.enum(MODES),
    reason: z.string(),
    publicKey: z.string(),
    durationMinutes: z.number(),
    linuxUser: z.string(),
    status: z.enum(SessionStatus),
    version: z.number().int(),
    createdAt: z.number(),
    updatedAt: z.number(),
    provisioningDeadline: z.number(),
    credentialExpiresAt: z.number(),
    launchSentAt: z.number().optional(),
    bastionRunningAt: z.number().optional(),
    readyAt: z.number().optional(),
    expiresAt: z.number().optional(),
    endedAt: z.number().optional(),
    endReason: z.enum(EndReason).optional(),
    failureReason: z.string().optional(),
    resources: ResourcesSchema,
    hostKey: z.object({ publicKey: z.string(), fingerprint: z.string() }).optional(),
    connection: ConnectionSchema.optional(),
    quotaKind: z.enum(QuotaKind).optional(),
    breakGlass: z.boolean().optional(),
    incidentId: z.string().optional(),
    approval: z
      .object({
        approverGroups: z.array(z.string()),
        deadline: z.number(),
        decidedBy: z.string().optional(),
        decidedAt: z.number().optional(),
        comment: z.string().optional(),
      })
      .optional(),
    extendedMinutes: z.number().optional(),
    notify: z.array(z.enum(NOTIFY_EVENTS)).optional(),
    expiryWarningAt: z.number().optional(),
    recording: z.enum(['full', 'metadata', 'off']).optional(),
    recordingHead: z
      .object({
        seq: z.number().int().positive(),
        hash: z.string(),
        closed: z.boolean().optional(),
      })
      .optional(),
    recordingSettle: z.object({ checkAt: z.number(), deadline: z.number() }).optional(),
    auditSeq: z.number().int().nonnegative(),
    auditHead: z.string(),
  }),
);

export const ReviewSchema: z.ZodType<Review> = z.lazy(() =>
  z.object({
    sessionId: z.string(),
    requester: z.string(),
    target: z.string(),
    incidentId: z.string(),
    reason: z.string(),
    sourceIp: z.string(),
    durationMinutes: z.number(),
    requestedAt: z.number(),
    status: z.enum(['open', 'reviewed']),
    verdict: z.enum(REVIEW_VERDICTS).optional(),
    comment: z.string().optional(),
    reviewedBy: z.string().optional(),
    reviewedAt: z.number().optional(),
  }),
);

export const AuditEventSchema: z.ZodType<AuditEvent> = z.lazy(() =>
  z.object({
    sessionId: z.string(),
    seq: z.number().int().positive(),
    at: z.number(),
    type: z.string(),
    actor: z.string(),
    status: z.string(),
    detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    prevHash: z.string(),
    hash: z.string(),
  }),
);

export const ReaperDaySchema: z.ZodType<ReaperDay> = z.lazy(() =>
  z.object({
    day: z.string(),
    sweeps: z.number(),
    orphansFound: z.number(),
    orphansReaped: z.number(),
    expired: z.number(),
    failed: z.number(),
  }),
);
