import { parse } from 'yaml';
import * as z from 'zod/mini';
import { safeParse } from '../domain/validation.ts';

// The same shapes lib/domain/identity.ts accepts from a verified token, so that a demo user's
// token is never one the API reads differently.
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const GROUP = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

const LocalUser = z.strictObject({
  name: z.string().check(z.regex(NAME, 'must be 1 to 64 letters, digits or ._@- characters')),
  description: z.optional(z.string().check(z.maxLength(200))),
  password: z.string().check(z.minLength(1), z.maxLength(200)),
  /** the demo second factor: a fixed one-time code (6 digits) */
  otp: z.optional(z.string().check(z.regex(/^[0-9]{6}$/, 'must be 6 digits'))),
  groups: z.array(z.string().check(z.regex(GROUP, 'is not a group name'))).check(z.maxLength(100)),
});
export type LocalUser = z.infer<typeof LocalUser>;

const LocalUsersFile = z.strictObject({
  users: z.array(LocalUser).check(z.minLength(1), z.maxLength(1000)),
});

/** Parses policy/local-users.yaml; throws an Error naming the file and the bad field. */
export function parseLocalUsers(text: string, source: string): LocalUser[] {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`${source} is not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = safeParse(LocalUsersFile, document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'the file';
    throw new Error(`${source}: ${where}: ${issue?.message ?? 'is not a local users file'}`);
  }
  const seen = new Set<string>();
  for (const user of result.data.users) {
    if (seen.has(user.name)) throw new Error(`${source}: user ${user.name} appears twice`);
    seen.add(user.name);
  }
  return result.data.users;
}
