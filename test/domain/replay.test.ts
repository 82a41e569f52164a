import { describe, expect, it } from 'vitest';
import { replayAction } from '../../lib/domain/replay.ts';
import type { Session } from '../../lib/domain/session.ts';
import { makeSession } from '../support/sessions.ts';

const failed = (overrides: Partial<Session> = {}) =>
  makeSession({ status: 'FAILED', endReason: 'failed', endedAt: 1, ...overrides });

describe('replayAction', () => {
  it('resumes a REQUESTED session (nothing has claimed it for provisioning)', () => {
    expect(replayAction(makeSession())).toBe('resume');
  });

  it('starts afresh after a failure that launched nothing', () => {
    expect(replayAction(failed())).toBe('fresh');
    expect(replayAction(failed({ resources: { subnetId: 'subnet-1' } }))).toBe('fresh');
    expect(replayAction(failed({ resources: { targetInstanceId: 'i-target' } }))).toBe('fresh');
  });

  it.each([
    ['an instance', { resources: { instanceId: 'i-1' } }],
    ['a security group', { resources: { securityGroupId: 'sg-1' } }],
    ['an sshd process', { resources: { pid: 4242 } }],
    ['a READY moment', { readyAt: 1 }],
  ])('replays a failure that had launched %s', (_what, overrides) => {
    expect(replayAction(failed(overrides as Partial<Session>))).toBe('replay');
  });

  it.each(['PENDING_APPROVAL', 'PROVISIONING', 'READY', 'ENDING', 'ENDED'] as const)(
    'replays a %s session as it stands',
    (status) => {
      expect(replayAction(makeSession({ status }))).toBe('replay');
    },
  );
});
