import { describe, expect, it } from 'vitest';
import { targetLabel } from '../../console/src/target-label.ts';

describe("the console's target picker", () => {
  it('labels a recorded target with its terms, the words drawbridge targets prints', () => {
    expect(
      targetLabel({
        name: 'prod-shell',
        description: 'the replica',
        recording: 'full',
        recordingPolicy: {
          mode: 'full',
          input: true,
          idleTimeoutMinutes: 15,
          idleEndsSession: true,
        },
      }),
    ).toBe('prod-shell (recorded, input too, idle 15 min ends session) — the replica');
    expect(
      targetLabel({
        name: 'ops-shell',
        recording: 'full',
        recordingPolicy: {
          mode: 'full',
          input: false,
          idleTimeoutMinutes: 30,
          idleEndsSession: false,
        },
      }),
    ).toBe('ops-shell (recorded, idle 30 min disconnects)');
  });

  it('says only "recorded" where there is nothing more, or the API does not say, and nothing for others', () => {
    expect(
      targetLabel({
        name: 'demo',
        recording: 'full',
        recordingPolicy: { mode: 'full', input: false },
      }),
    ).toBe('demo (recorded)');
    expect(targetLabel({ name: 'old', recording: 'full' })).toBe('old (recorded)');
    expect(
      targetLabel({
        name: 'db',
        recording: 'metadata',
        recordingPolicy: { mode: 'metadata', input: false },
      }),
    ).toBe('db');
  });
});
