import type * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * zod/mini, not zod's classic API: the same parser at a fraction of the size and init cost
 * (classic is ≈100 KB of every bundle and ≈45 ms of CPU at cold start). Mini loads no messages,
 * so an issue our schemas do not word themselves would read "Invalid input": parsing through
 * here adds zod's English ones (≈2 KB) for those, per parse rather than as a global setting,
 * so every 4xx and policy error still names what is wrong whoever imported zod first.
 */
let english: z.core.$ZodErrorMap | undefined;
const ENGLISH = {
  // built by the first parse that finds an issue: a valid request never needs a message
  error: (issue: z.core.$ZodRawIssue) => {
    english ??= en().localeError;
    return english(issue);
  },
};

/** `schema.safeParse(value)`, with English messages for the issues the schema does not word. */
export function safeParse<S extends z.ZodMiniType>(schema: S, value: unknown) {
  return schema.safeParse(value, ENGLISH);
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );

/** Formats the first few zod issues as `field: problem` so the error names the bad field. */
export function describeIssues(error: z.core.$ZodError, limit = 3): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`)
    .join('; ');
}
