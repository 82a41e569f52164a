import * as z from 'zod';
import { SESSION_ID_PATTERN, SessionStatus } from '../domain/session.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const MAX_BODY_BYTES = 8 * 1024;

/** POST /sessions. Strict: an unknown field is an error that names it. */
export const CreateSessionBody = z.strictObject({
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
});
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,128}$/, 'Idempotency-Key must be 8 to 128 letters, digits, _ or -');

export const SessionIdParam = z.string().regex(SESSION_ID_PATTERN);

export const ListSessionsQuery = z.strictObject({
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
});
export type ListSessionsQuery = z.infer<typeof ListSessionsQuery>;
