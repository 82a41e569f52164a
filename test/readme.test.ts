import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionView } from '../lib/app/session-view.ts';
import {
  credentialWindowMinutes,
  EXPIRY_WARNING_MINUTES,
  planExtension,
} from '../lib/domain/extension.ts';
import { parsePolicy } from '../lib/domain/policy-yaml.ts';
import type { Session } from '../lib/domain/session.ts';
import { makeSession } from './support/sessions.ts';

const ROOT = join(import.meta.dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('names only Markdown documents and links only files that are in the repository', () => {
    const linked = [...readme.matchAll(/\]\((?!https?:|#|mailto:)([^)\s#]+)/g)].map((m) => m[1]);
    const named = [...readme.matchAll(/\b([A-Z][A-Z_-]+\.md)\b/g)].map((m) => m[1]);
    const missing = [...linked, ...named].filter(
      (path): path is string => !!path && !existsSync(join(ROOT, path)),
    );
    expect(missing).toEqual([]);
  });

  it('gives the expiring notice the window the reaper really gives it (due N min early, sent within the next minute)', () => {
    const early = EXPIRY_WARNING_MINUTES;
    expect(readme).toContain(`${early - 1}–${early}\n  minutes before the end`);
    expect(readme).not.toMatch(new RegExp(`${early}[-–]${early + 1} minutes before the end`));
  });

  it('headroom 0 on ec2: the unused provisioning time can be extended, and no more (what the README says)', () => {
    const MINUTE = 60_000;
    const deadline = 10 * MINUTE; // provisioning deadline, counted from 0
    const readyAt = 2 * MINUTE; // READY 8 minutes before the deadline
    const duration = 30;
    const bound =
      deadline + credentialWindowMinutes({ extensionHeadroomMinutes: 0 }, duration, 120) * MINUTE;
    const session = {
      readyAt,
      expiresAt: readyAt + duration * MINUTE,
      durationMinutes: duration,
      credentialExpiresAt: bound,
    } as Session;
    const request = { maxTotalMinutes: 120, canRewriteKey: false, now: readyAt };
    expect(planExtension(session, { ...request, byMinutes: 8 }).expiresAt).toBe(bound);
    expect(() => planExtension(session, { ...request, byMinutes: 9 })).toThrow(/at most 8 more/);
  });

  it('does not claim that headroom 0 forbids every extension on ec2', () => {
    expect(readme).not.toMatch(/Headroom 0 \(the default\) means no extension/);
    expect(readme).toMatch(/provisioning time it did not use/);
  });

  it('says which ClientToken each launch attempt uses', () => {
    expect(readme).not.toMatch(/`ClientToken` is the session id\./);
    expect(readme).toContain('`<session id>-N`');
  });

  it("gives the recorded-session line the API hands out (sshShell), placeholders for the session's values", () => {
    const policy = parsePolicy(
      `version: 1
adminGroup: admins
quota: { activeSessionsPerUser: 1 }
targets:
  - { name: prod-shell, mode: local, host: 10.0.0.5, port: 5432, allowedGroups: [dev], defaultDurationMinutes: 30, maxDurationMinutes: 60, access: shell, recording: full }
`,
      'readme',
    );
    const session = makeSession({
      target: 'prod-shell',
      status: 'READY',
      recording: 'full',
      connection: { bastionHost: '198.51.100.7', bastionPort: 2201, linuxUser: 'db-abc' },
    });
    const connection = sessionView(session, policy).connection;
    const line = (connection && 'sshShell' in connection ? connection.sshShell : '')
      .replace(session.id, '<id>')
      .replace('2201', '<port>')
      .replace('db-abc@198.51.100.7', '<user>@<bastion>');
    expect(line).toMatch(/^ssh -tt /);
    expect(readme).toContain(`\n${line}\n`);
  });
});
