import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { issueHostKey } from '../../lib/domain/host-key.ts';
import { notReadyReason, parseReadinessLine, readinessLine } from '../../lib/domain/readiness.ts';
import { newSessionId } from '../../lib/domain/session.ts';
import { makeSession } from '../support/sessions.ts';

const FINGERPRINT = issueHostKey().fingerprint;

describe('the readiness line', () => {
  it('reads the proof the bastion writes, bare or behind a syslog prefix', () => {
    const proof = { sessionId: newSessionId(), fingerprint: FINGERPRINT };
    expect(parseReadinessLine(readinessLine(proof))).toEqual(proof);
    expect(
      parseReadinessLine(
        `Nov 24 09:00:05 ip-10-0-1-7 drawbridge-ready[812]: ${readinessLine(proof)}`,
      ),
    ).toEqual(proof);
  });

  it('round-trips every session id and fingerprint (property)', () => {
    const fingerprint = fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((bytes) => `SHA256:${Buffer.from(bytes).toString('base64').replace(/=+$/, '')}`);
    fc.assert(
      fc.property(
        fc.constant(null).map(newSessionId),
        fingerprint,
        fc.oneof(
          fc.constant(''),
          fc.string().map((text) => `${text} `),
        ),
        (id, fp, prefix) => {
          const line = `${prefix}${readinessLine({ sessionId: id, fingerprint: fp })}`;
          expect(parseReadinessLine(line)).toEqual({ sessionId: id, fingerprint: fp });
        },
      ),
    );
  });

  it('never throws and finds nothing in text that is not a proof (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1100 }), (text) => {
        const parsed = parseReadinessLine(text);
        if (parsed) expect(text).toContain(readinessLine(parsed));
      }),
    );
  });

  it('refuses a proof with anything after it, or a bad id or fingerprint', () => {
    const id = newSessionId();
    for (const line of [
      `${readinessLine({ sessionId: id, fingerprint: FINGERPRINT })} extra`,
      `drawbridge-ready session=${id.toUpperCase()} hostkey=${FINGERPRINT}`,
      `drawbridge-ready session=${id} hostkey=${FINGERPRINT.slice(0, -1)}`,
      `xdrawbridge-ready session=${id} hostkey=${FINGERPRINT}`,
      `drawbridge-ready session=${id} hostkey=MD5:${FINGERPRINT.slice(7)}`,
    ]) {
      expect(parseReadinessLine(line), line).toBeUndefined();
    }
  });
});

describe('why a session was not ready by its deadline', () => {
  it('names what was missing', () => {
    expect(notReadyReason(makeSession({ mode: 'ec2' }))).toMatch(/never launched/);
    expect(
      notReadyReason(makeSession({ mode: 'ec2', resources: { instanceId: 'i-0abc' } })),
    ).toMatch(/instance never reached running/);
    expect(
      notReadyReason(
        makeSession({ mode: 'ec2', resources: { instanceId: 'i-0abc' }, bastionRunningAt: 1 }),
      ),
    ).toMatch(/never sent its readiness proof/);
  });
});
