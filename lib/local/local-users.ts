import { parse } from 'yaml';
import * as z from 'zod';

// The same shapes lib/domain/identity.ts accepts from a verified token, so that a demo user's
// token is never one the API reads differently.
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const GROUP = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

const LocalUser = z.strictObject({
  name: z.string().regex(NAME, 'must be 1 to 64 letters, digits or ._@- characters'),
  description: z.string().max(200).optional(),
  password: z.string().min(1).max(200),
  /** the demo second factor: a fixed one-time code (6 digits) */
  otp: z
    .string()
    .regex(/^[0-9]{6}$/, 'must be 6 digits')
    .optional(),
  groups: z.array(z.string().regex(GROUP, 'is not a group name')).max(100),
});
export type LocalUser = z.infer<typeof LocalUser>;

const LocalUsersFile = z.strictObject({ users: z.array(LocalUser).min(1).max(1000) });

/** Parses policy/local-users.yaml; throws an Error naming the file and the bad field. */
export function parseLocalUsers(text: string, source: string): LocalUser[] {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`${source} is not YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = LocalUsersFile.safeParse(document);
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
