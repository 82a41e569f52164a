import * as z from 'zod/mini';
import { SESSION_ID_PATTERN, SessionStatus } from '../domain/session.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const MAX_BODY_BYTES = 8 * 1024;

const noControlCharacters = () =>
  z.refine<string>(
    (value) => !CONTROL_CHARACTERS.test(value),
    'must not contain control characters or line breaks',
  );

const wholeMinutes = () =>
  z
    .int({ error: 'must be a whole number of minutes' })
    .check(z.minimum(1, 'must be at least 1'), z.maximum(24 * 60, 'must be at most 1440'));

/** POST /sessions. Strict: an unknown field is an error that names it. */
export const CreateSessionBody = z.lazy(() =>
  z.strictObject({
    target: z
      .string()
      .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a target name from the policy')),
    durationMinutes: z.optional(wholeMinutes()),
    reason: z
      .string()
      .check(
        z.trim(),
        z.minLength(3, 'must say why you need access (3 characters or more)'),
        z.maxLength(500, 'must be at most 500 characters'),
        noControlCharacters(),
      ),
    publicKey: z.string().check(z.minLength(1, 'is required'), z.maxLength(4096, 'is too long')),
    /** on-call access; needs incidentId (checked against INC-123 style in lib/domain/break-glass.ts) */
    breakGlass: z.optional(z.boolean({ error: 'must be true or false' })),
    incidentId: z.optional(
      z.string().check(z.trim(), z.minLength(1, 'is required'), z.maxLength(64, 'is too long')),
    ),
  }),
);
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

const plainText = (what: string, min: number, max: number) =>
  z
    .string()
    .check(
      z.trim(),
      z.minLength(min, `must ${what} (${min} characters or more)`),
      z.maxLength(max, `must be at most ${max} characters`),
      noControlCharacters(),
    );

/** POST /sessions/{id}/extend */
export const ExtendSessionBody = z.lazy(() =>
  z.strictObject({
    byMinutes: wholeMinutes(),
    reason: plainText('say why you need more time', 3, 500),
  }),
);
export type ExtendSessionBody = z.infer<typeof ExtendSessionBody>;

/** POST /sessions/{id}/approve and /deny; the body may be left out. */
export const DecisionBody = z.lazy(() =>
  z.strictObject({
    comment: z.optional(plainText('say something', 1, 300)),
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

/** `limit` of a page: a query-string number, 1 to 100, 25 when absent. */
const pageLimit = () =>
  z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100)), 25);

/** GET /reviews */
export const ListReviewsQuery = z.lazy(() =>
  z.strictObject({
    status: z._default(z.enum(['open', 'reviewed', 'all']), 'all'),
    limit: pageLimit(),
    cursor: z.optional(z.string().check(z.maxLength(4096))),
  }),
);

/** GET /approvals: a page of the requests that wait for the caller's decision. */
export const ListApprovalsQuery = z.lazy(() =>
  z.strictObject({
    limit: pageLimit(),
    cursor: z.optional(z.string().check(z.maxLength(2048))),
  }),
);

export const IdempotencyKey = z.lazy(() =>
  z
    .string()
    .check(
      z.regex(/^[A-Za-z0-9_-]{8,128}$/, 'Idempotency-Key must be 8 to 128 letters, digits, _ or -'),
    ),
);

export const SessionIdParam = z.lazy(() => z.string().check(z.regex(SESSION_ID_PATTERN)));

export const ListSessionsQuery = z.lazy(() =>
  z.strictObject({
    limit: pageLimit(),
    cursor: z.optional(z.string().check(z.maxLength(2048))),
    all: z.optional(
      z.pipe(
        z.enum(['true', 'false']),
        z.transform((value) => value === 'true'),
      ),
    ),
    owner: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    target: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/))),
    status: z.optional(z.enum(Object.values(SessionStatus) as [SessionStatus, ...SessionStatus[]])),
  }),
);
export type ListSessionsQuery = z.infer<typeof ListSessionsQuery>;

/** GET /targets (a response: documented in openapi.json from this schema, never parsed). */
export const TargetList = z.lazy(() =>
  z.object({
    items: z.array(
      z.object({
        name: z.string(),
        description: z.optional(z.string()),
        mode: z.string(),
        access: z.enum(['jump-only', 'shell']),
        recording: z.enum(['full', 'metadata', 'off']),
        defaultDurationMinutes: z.int(),
        maxDurationMinutes: z.int(),
        approval: z.optional(
          z.object({ approverGroups: z.array(z.string()), timeoutMinutes: z.int() }),
        ),
        requireMfa: z.optional(z.object({ maxAgeMinutes: z.int() })),
        breakGlass: z.optional(z.object({ maxDurationMinutes: z.int() })),
      }),
    ),
  }),
);
