import * as z from 'zod';
import { SESSION_ID_PATTERN, SessionStatus } from '../domain/session.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const MAX_BODY_BYTES = 8 * 1024;

/** POST /sessions. Strict: an unknown field is an error that names it. */
export const CreateSessionBody = z.lazy(() =>
  z.strictObject({
    target: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a target name from the policy'),
    durationMinutes: z
      .number({ error: 'must be a whole number of minutes' })
      .int('must be a whole number of minutes')
      .min(1, 'must be at least 1')
      .max(24 * 60, 'must be at most 1440')
      .optional(),
    reason: z
      .string()
      .trim()
      .min(3, 'must say why you need access (3 characters or more)')
      .max(500, 'must be at most 500 characters')
      .refine(
        (value) => !CONTROL_CHARACTERS.test(value),
        'must not contain control characters or line breaks',
      ),
    publicKey: z.string().min(1, 'is required').max(4096, 'is too long'),
    /** on-call access; needs incidentId (checked against INC-123 style in lib/domain/break-glass.ts) */
    breakGlass: z.boolean({ error: 'must be true or false' }).optional(),
    incidentId: z.string().trim().min(1, 'is required').max(64, 'is too long').optional(),
  }),
);
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

const plainText = (what: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min, `must ${what} (${min} characters or more)`)
    .max(max, `must be at most ${max} characters`)
    .refine(
      (value) => !CONTROL_CHARACTERS.test(value),
      'must not contain control characters or line breaks',
    );

/** POST /sessions/{id}/extend */
export const ExtendSessionBody = z.lazy(() =>
  z.strictObject({
    byMinutes: z
      .number({ error: 'must be a whole number of minutes' })
      .int('must be a whole number of minutes')
      .min(1, 'must be at least 1')
      .max(24 * 60, 'must be at most 1440'),
    reason: plainText('say why you need more time', 3, 500),
  }),
);
export type ExtendSessionBody = z.infer<typeof ExtendSessionBody>;

/** POST /sessions/{id}/approve and /deny; the body may be left out. */
export const DecisionBody = z.lazy(() =>
  z.strictObject({
    comment: plainText('say something', 1, 300).optional(),
  }),
);

/** POST /reviews/{id} */
export const ReviewBody = z.lazy(() =>
  z.strictObject({
    verdict: z.enum(['appropriate', 'inappropriate'], {
      error: "must be 'appropriate' or 'inappropriate'",
    }),
    comment: plainText('say what the review found', 3, 1000),
  }),
);

/** GET /reviews */
export const ListReviewsQuery = z.lazy(() =>
  z.strictObject({
    status: z.enum(['open', 'reviewed', 'all']).default('all'),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(4096).optional(),
  }),
);

/** GET /approvals: a page of the requests that wait for the caller's decision. */
export const ListApprovalsQuery = z.lazy(() =>
  z.strictObject({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(2048).optional(),
  }),
);

export const IdempotencyKey = z.lazy(() =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,128}$/, 'Idempotency-Key must be 8 to 128 letters, digits, _ or -'),
);

export const SessionIdParam = z.lazy(() => z.string().regex(SESSION_ID_PATTERN));

export const ListSessionsQuery = z.lazy(() =>
  z.strictObject({
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(2048).optional(),
    all: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional(),
    owner: z.string().min(1).max(256).optional(),
    target: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    status: z.enum(Object.values(SessionStatus) as [SessionStatus, ...SessionStatus[]]).optional(),
  }),
);
export type ListSessionsQuery = z.infer<typeof ListSessionsQuery>;

/** GET /targets (a response: documented in openapi.json from this schema, never parsed). */
export const TargetList = z.lazy(() =>
  z.object({
    items: z.array(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        mode: z.string(),
        access: z.enum(['jump-only', 'shell']),
        recording: z.enum(['full', 'metadata', 'off']),
        defaultDurationMinutes: z.number().int(),
        maxDurationMinutes: z.number().int(),
        approval: z
          .object({ approverGroups: z.array(z.string()), timeoutMinutes: z.number().int() })
          .optional(),
        requireMfa: z.object({ maxAgeMinutes: z.number().int() }).optional(),
        breakGlass: z.object({ maxDurationMinutes: z.number().int() }).optional(),
      }),
    ),
  }),
);
