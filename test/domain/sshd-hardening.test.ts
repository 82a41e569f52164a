import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validatePolicy } from '../../lib/domain/policy.ts';
import {
  bannerFileContent,
  bannerProblem,
  DEFAULT_BANNER,
  hardenedSshdSettings,
  MAX_BANNER_LENGTH,
} from '../../lib/domain/sshd-hardening.ts';

const minimalPolicy = (
  extra: Record<string, unknown> = {},
  target: Record<string, unknown> = {},
) => ({
  version: 1,
  adminGroup: 'admins',
  quota: { activeSessionsPerUser: 1 },
  targets: [
    {
      name: 'demo',
      mode: 'local',
      host: '127.0.0.1',
      port: 7777,
      allowedGroups: ['dev'],
      defaultDurationMinutes: 5,
      maxDurationMinutes: 10,
      ...target,
    },
    {
      name: 'other',
      mode: 'local',
      host: '127.0.0.1',
      port: 7778,
      allowedGroups: ['dev'],
      defaultDurationMinutes: 5,
      maxDurationMinutes: 10,
    },
  ],
  ...extra,
});

describe('bastion banner', () => {
  it('is never Banner none: sshd shows the file it is given', () => {
    const settings = new Map(hardenedSshdSettings('10.0.0.1:22', '/etc/ssh/drawbridge-banner'));
    expect(settings.get('Banner')).toBe('/etc/ssh/drawbridge-banner');
  });

  it('defaults to a legal notice, which a policy replaces and a target overrides', () => {
    expect(bannerProblem(DEFAULT_BANNER)).toBeUndefined();
    expect(validatePolicy(minimalPolicy()).targets.map((t) => t.banner)).toEqual([
      DEFAULT_BANNER,
      DEFAULT_BANNER,
    ]);
    const policy = validatePolicy(
      minimalPolicy({ banner: 'Example Corp only.' }, { banner: 'Payments: PCI scope.' }),
    );
    expect(policy.targets.map((t) => t.banner)).toEqual([
      'Payments: PCI scope.',
      'Example Corp only.',
    ]);
  });

  it('refuses a bad banner in the policy, naming the field', () => {
    expect(() => validatePolicy(minimalPolicy({ banner: 'bell\u0007' }))).toThrow(
      /banner: printable ASCII/,
    );
    expect(() => validatePolicy(minimalPolicy({}, { banner: '' }))).toThrow(
      /targets\[0\]\.banner: must not be blank/,
    );
    expect(() =>
      validatePolicy(minimalPolicy({ banner: 'x'.repeat(MAX_BANNER_LENGTH + 1) })),
    ).toThrow(/banner: at most 2048/);
  });

  it('accepts exactly the non-blank printable ASCII texts within the bound (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: MAX_BANNER_LENGTH + 50 }), (text) => {
        const valid =
          text.length <= MAX_BANNER_LENGTH && /^[\x20-\x7e\n]*$/.test(text) && text.trim() !== '';
        expect(bannerProblem(text) === undefined).toBe(valid);
      }),
    );
    fc.assert(
      fc.property(
        fc.stringMatching(/^[ -~\n]{1,300}$/).filter((text) => text.trim() !== ''),
        (text) => {
          expect(bannerProblem(text)).toBeUndefined();
          expect(bannerFileContent(text).endsWith('\n')).toBe(true);
        },
      ),
    );
  });
});
