import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import { DEFAULT_USERS_FILE } from '../../lib/local/local-orchestrator.ts';
import { parseLocalUsers } from '../../lib/local/local-users.ts';

describe('policy/local-users.yaml', () => {
  it('has an engineer, an approver, an on-call responder, an admin and a FinOps reader of the local policy', () => {
    const users = parseLocalUsers(readFileSync(DEFAULT_USERS_FILE, 'utf8'), DEFAULT_USERS_FILE);
    const policy = parsePolicy(
      readFileSync(new URL('../../policy/local.policy.yaml', import.meta.url), 'utf8'),
      'local.policy.yaml',
    );
    const groups = new Set(users.flatMap((user) => user.groups));
    expect(groups).toContain(policy.adminGroup);
    expect(groups).toContain(policy.finopsGroup);
    for (const group of policy.breakGlass?.groups ?? []) expect(groups).toContain(group);
    for (const target of policy.targets) {
      for (const group of target.allowedGroups) expect(groups).toContain(group);
      for (const group of target.approval?.approverGroups ?? []) expect(groups).toContain(group);
    }
    expect(users.every((user) => user.otp)).toBe(true);
  });

  it('names the bad field, and refuses duplicates', () => {
    expect(() =>
      parseLocalUsers('users: [{ name: a, password: p, groups: ["bad group"] }]', 'f'),
    ).toThrow('f: users.0.groups.0: is not a group name');
    expect(() =>
      parseLocalUsers('users: [{ name: a, password: p, otp: "12", groups: [] }]', 'f'),
    ).toThrow('f: users.0.otp: must be 6 digits');
    expect(() =>
      parseLocalUsers(
        'users: [{ name: a, password: p, groups: [] }, { name: a, password: q, groups: [] }]',
        'f',
      ),
    ).toThrow('f: user a appears twice');
  });

  it('any text either parses to valid users or throws an Error naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc
            .record({
              name: fc.string(),
              password: fc.string(),
              otp: fc.option(fc.string()),
              groups: fc.array(fc.string()),
            })
            .map((user) => JSON.stringify({ users: [user] })),
        ),
        (text) => {
          try {
            const users = parseLocalUsers(text, 'users.yaml');
            for (const user of users) {
              expect(user.name).toMatch(/^[A-Za-z0-9._@-]{1,64}$/);
              expect(user.password.length).toBeGreaterThan(0);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
            expect((error as Error).message.startsWith('users.yaml')).toBe(true);
          }
        },
      ),
    );
  });
});
