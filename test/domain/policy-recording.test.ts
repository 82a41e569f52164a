import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../lib/domain/errors.ts';
import { findTarget, isAuditor, validatePolicy } from '../../lib/domain/policy.ts';

const target = (extra: Record<string, unknown>) => ({
  name: 'box',
  mode: 'local',
  host: '127.0.0.1',
  port: 22,
  allowedGroups: ['dev'],
  defaultDurationMinutes: 15,
  maxDurationMinutes: 30,
  ...extra,
});
const policy = (extra: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
  version: 1,
  adminGroup: 'admins',
  quota: { activeSessionsPerUser: 2 },
  targets: [target(extra)],
  ...top,
});
const errorOf = (document: unknown): string => {
  try {
    validatePolicy(document);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as Error).message;
  }
  throw new Error('policy was accepted');
};

describe('policy: recording', () => {
  it('defaults to metadata, no input, no idle timeout: the behaviour before recording existed', () => {
    const box = findTarget(validatePolicy(policy({})), 'box');
    expect(box).toMatchObject({ recording: 'metadata', recordInput: false, idleEndsSession: true });
    expect(box?.idleTimeoutMinutes).toBeUndefined();
  });

  it('accepts a recorded shell with input recording and an idle timeout', () => {
    const box = findTarget(
      validatePolicy(
        policy({ access: 'shell', recording: 'full', recordInput: true, idleTimeoutMinutes: 15 }),
      ),
      'box',
    );
    expect(box).toMatchObject({ recording: 'full', recordInput: true, idleTimeoutMinutes: 15 });
  });

  it('refuses full recording on a jump-only target: a tunnel cannot be recorded', () => {
    expect(errorOf(policy({ recording: 'full' }))).toMatch(
      /targets\[0\]\.access: must be shell when recording is full/,
    );
  });

  it('refuses full recording for ssm, whose terminal is Session Manager’s', () => {
    const ssm = {
      mode: 'ssm',
      access: 'shell',
      recording: 'full',
      ssm: { instanceId: 'i-0123456789abcdef0', documents: ['shell'] },
    };
    expect(errorOf(policy(ssm))).toMatch(
      /targets\[0\]\.recording: full is for modes ec2 and local/,
    );
  });

  it.each([
    ['recordInput', { recordInput: true }],
    ['idleTimeoutMinutes', { idleTimeoutMinutes: 15 }],
  ])('refuses %s without full recording', (field, extra) => {
    expect(errorOf(policy({ access: 'shell', ...extra }))).toContain(
      `targets[0].${field}: needs recording: full`,
    );
  });

  it.each([0, -1, 1.5, 24 * 60 + 1, '15'])('refuses idleTimeoutMinutes %s', (value) => {
    expect(
      errorOf(policy({ access: 'shell', recording: 'full', idleTimeoutMinutes: value })),
    ).toContain('targets[0].idleTimeoutMinutes');
  });

  it('refuses an unknown recording level and a bad auditor group', () => {
    expect(errorOf(policy({ recording: 'video' }))).toContain('targets[0].recording');
    expect(errorOf(policy({}, { auditorGroups: ['a b'] }))).toContain('auditorGroups[0]');
    expect(errorOf(policy({}, { auditorGroups: [] }))).toContain('auditorGroups');
  });

  it('auditors are the members of auditorGroups, and nobody when it is absent', () => {
    const withAuditors = validatePolicy(policy({}, { auditorGroups: ['security'] }));
    expect(isAuditor(withAuditors, { subject: 'a', groups: ['security'] })).toBe(true);
    expect(isAuditor(withAuditors, { subject: 'b', groups: ['dev', 'admins'] })).toBe(false);
    expect(isAuditor(validatePolicy(policy({})), { subject: 'a', groups: ['security'] })).toBe(
      false,
    );
  });

  it('property: any combination of the recording fields is accepted exactly when consistent', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ec2', 'ssm', 'local'),
        fc.constantFrom('jump-only', 'shell'),
        fc.option(fc.constantFrom('full', 'metadata', 'off'), { nil: undefined }),
        fc.option(fc.boolean(), { nil: undefined }),
        fc.option(fc.integer({ min: -5, max: 2000 }), { nil: undefined }),
        (mode, access, recording, recordInput, idle) => {
          const extra: Record<string, unknown> = { mode, access };
          if (mode === 'ec2') {
            extra.network = {
              vpcId: 'vpc-0123456789abcdef0',
              subnetIds: ['subnet-0123456789abcdef0'],
            };
          }
          if (mode === 'ssm') extra.ssm = { instanceId: 'i-0123456789abcdef0' };
          if (recording !== undefined) extra.recording = recording;
          if (recordInput !== undefined) extra.recordInput = recordInput;
          if (idle !== undefined) extra.idleTimeoutMinutes = idle;
          const full = recording === 'full';
          const consistent =
            (!full || (mode !== 'ssm' && access === 'shell')) &&
            (full || (recordInput !== true && idle === undefined)) &&
            (idle === undefined || (idle >= 1 && idle <= 1440));
          let accepted = true;
          try {
            validatePolicy(policy(extra));
          } catch (error) {
            expect(error).toBeInstanceOf(PolicyError);
            accepted = false;
          }
          expect(accepted).toBe(consistent);
        },
      ),
    );
  });
});
