import { describe, expect, it } from 'vitest';
import { listTargets } from '../../lib/app/targets.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity } from '../../lib/domain/session.ts';

const policy = parsePolicy(`
version: 1
adminGroup: admins
quota: { activeSessionsPerUser: 2 }
breakGlass: { groups: [oncall], maxDurationMinutes: 30, quota: 1, targets: [prod-db] }
targets:
  - { name: dev-db, mode: local, host: 127.0.0.1, port: 5432, allowedGroups: [dev], defaultDurationMinutes: 15, maxDurationMinutes: 60 }
  - name: prod-db
    mode: local
    host: 127.0.0.1
    port: 5433
    allowedGroups: [dba]
    defaultDurationMinutes: 15
    maxDurationMinutes: 120
    approval: { approverGroups: [leads], timeoutMinutes: 30 }
    requireMfa: { maxAgeMinutes: 10 }
  - { name: vault, mode: local, host: 127.0.0.1, port: 8200, allowedGroups: [security], defaultDurationMinutes: 15, maxDurationMinutes: 60 }
`);

const who = (...groups: string[]): Identity => ({ subject: 'x', groups });

describe('GET /targets (listTargets)', () => {
  it('lists only what the groups may open, with approval and MFA terms', () => {
    expect(listTargets(policy, who('dev')).map((t) => t.name)).toEqual(['dev-db']);
    expect(listTargets(policy, who('dba'))).toEqual([
      {
        name: 'prod-db',
        mode: 'local',
        access: 'jump-only',
        recording: 'metadata',
        defaultDurationMinutes: 15,
        maxDurationMinutes: 120,
        approval: { approverGroups: ['leads'], timeoutMinutes: 30 },
        requireMfa: { maxAgeMinutes: 10 },
      },
    ]);
    expect(listTargets(policy, who())).toEqual([]);
  });

  it('adds what break-glass covers for its members, with the break-glass maximum', () => {
    const listed = listTargets(policy, who('dev', 'oncall'));
    expect(listed.map((t) => [t.name, t.breakGlass?.maxDurationMinutes])).toEqual([
      ['dev-db', undefined],
      ['prod-db', 30],
    ]);
  });
});
