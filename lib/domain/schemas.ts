import * as z from 'zod/mini';
import type { AuditEvent } from './audit.ts';
import { REVIEW_VERDICTS, type Review } from './break-glass.ts';
import { CHAIN_PROBLEMS } from './recording-chain.ts';
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
 * The domain types as zod schemas, each checked against its TypeScript type (`z.ZodMiniType<T>`),
 * for reading them back from wherever they were stored (a required field the schema lacks
 * fails to compile). The adapters reuse these rather than keep their own copies.
 */

const ResourcesSchema = z.lazy(() =>
  z.object({
    instanceId: z.optional(z.string()),
    securityGroupId: z.optional(z.string()),
    subnetId: z.optional(z.string()),
    instanceType: z.optional(z.string()),
    pid: z.optional(z.int()),
    targetInstanceId: z.optional(z.string()),
    eiceEndpointId: z.optional(z.string()),
    eiceEndpointDns: z.optional(z.string()),
    privateIpAddress: z.optional(z.string()),
  }),
);

const ConnectionSchema = z.lazy(() =>
  z.object({
    bastionHost: z.string(),
    bastionPort: z.int(),
    linuxUser: z.string(),
    hostKeyFingerprint: z.optional(z.string()),
  }),
);

export const SessionSchema: z.ZodMiniType<Session> = z.lazy(() =>
  z.object({
    id: z.string().check(z.minLength(1)),
    owner: z.string().check(z.minLength(1)),
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
    version: z.int(),
    createdAt: z.number(),
    updatedAt: z.number(),
    provisioningDeadline: z.number(),
    credentialExpiresAt: z.number(),
    launchSentAt: z.optional(z.number()),
    bastionRunningAt: z.optional(z.number()),
    readyAt: z.optional(z.number()),
    expiresAt: z.optional(z.number()),
    endedAt: z.optional(z.number()),
    endReason: z.optional(z.enum(EndReason)),
    failureReason: z.optional(z.string()),
    resources: ResourcesSchema,
    hostKey: z.optional(z.object({ publicKey: z.string(), fingerprint: z.string() })),
    connection: z.optional(ConnectionSchema),
    quotaKind: z.optional(z.enum(QuotaKind)),
    breakGlass: z.optional(z.boolean()),
    incidentId: z.optional(z.string()),
    approval: z.optional(
      z.object({
        approverGroups: z.array(z.string()),
        deadline: z.number(),
        decidedBy: z.optional(z.string()),
        decidedAt: z.optional(z.number()),
        comment: z.optional(z.string()),
      }),
    ),
    extendedMinutes: z.optional(z.number()),
    notify: z.optional(z.array(z.enum(NOTIFY_EVENTS))),
    expiryWarningAt: z.optional(z.number()),
    recording: z.optional(z.enum(['full', 'metadata', 'off'])),
    recordingHead: z.optional(
      z.object({
        seq: z.int().check(z.positive()),
        hash: z.string(),
        closed: z.optional(z.boolean()),
      }),
    ),
    recordingSettle: z.optional(
      z.object({
        checkAt: z.number(),
        deadline: z.number(),
        read: z.optional(
          z.object({
            seq: z.int().check(z.nonnegative()),
            hash: z.string(),
            at: z.number(),
            chunks: z.int().check(z.nonnegative()),
            open: z.array(z.string()),
            openOverflow: z.optional(z.boolean()),
            problem: z.optional(z.object({ kind: z.enum(CHAIN_PROBLEMS), seq: z.number() })),
          }),
        ),
      }),
    ),
    auditSeq: z.int().check(z.nonnegative()),
    auditHead: z.string(),
  }),
);

export const ReviewSchema: z.ZodMiniType<Review> = z.lazy(() =>
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
    verdict: z.optional(z.enum(REVIEW_VERDICTS)),
    comment: z.optional(z.string()),
    reviewedBy: z.optional(z.string()),
    reviewedAt: z.optional(z.number()),
  }),
);

export const AuditEventSchema: z.ZodMiniType<AuditEvent> = z.lazy(() =>
  z.object({
    sessionId: z.string(),
    seq: z.int().check(z.positive()),
    at: z.number(),
    type: z.string(),
    actor: z.string(),
    status: z.string(),
    detail: z.optional(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
    prevHash: z.string(),
    hash: z.string(),
  }),
);

export const ReaperDaySchema: z.ZodMiniType<ReaperDay> = z.lazy(() =>
  z.object({
    day: z.string(),
    sweeps: z.number(),
    orphansFound: z.number(),
    orphansReaped: z.number(),
    expired: z.number(),
    failed: z.number(),
  }),
);
