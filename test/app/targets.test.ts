import { describe, expect, it } from 'vitest';
import { sessionView } from '../../lib/app/session-view.ts';
import { listTargets } from '../../lib/app/targets.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Identity } from '../../lib/domain/session.ts';
import { makeSession } from '../support/sessions.ts';

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
  - name: prod-shell
    mode: local
    host: 127.0.0.1
    port: 5434
    allowedGroups: [sre]
    defaultDurationMinutes: 15
    maxDurationMinutes: 60
    access: shell
    recording: full
    recordInput: true
    idleTimeoutMinutes: 15
  - name: ops-shell
    mode: local
    host: 127.0.0.1
    port: 5435
    allowedGroups: [sre]
    defaultDurationMinutes: 15
    maxDurationMinutes: 60
    access: shell
    recording: full
    idleTimeoutMinutes: 30
    idleEndsSession: false
  - { name: audit-log, mode: local, host: 127.0.0.1, port: 5436, allowedGroups: [sre], defaultDurationMinutes: 15, maxDurationMinutes: 60, recording: 'off' }
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
        recordingPolicy: { mode: 'metadata', input: false },
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

  it('states what a session there records: input too or not, the idle timeout and whether it ends the session', () => {
    const terms = Object.fromEntries(
      listTargets(policy, who('sre')).map((t) => [t.name, t.recordingPolicy]),
    );
    expect(terms).toEqual({
      'prod-shell': { mode: 'full', input: true, idleTimeoutMinutes: 15, idleEndsSession: true },
      'ops-shell': { mode: 'full', input: false, idleTimeoutMinutes: 30, idleEndsSession: false },
      'audit-log': { mode: 'off', input: false },
    });
  });

  it("states the very terms a session's view states for a session on that target (one builder)", () => {
    for (const target of listTargets(policy, who('dev', 'dba', 'security', 'sre'))) {
      const session = makeSession({ target: target.name, recording: target.recording });
      expect(sessionView(session, policy).recordingPolicy, target.name).toEqual(
        target.recordingPolicy,
      );
    }
  });
});
