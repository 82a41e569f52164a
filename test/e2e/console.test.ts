import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalOrchestrator,
  startLocalOrchestrator,
} from '../../lib/local/local-orchestrator.ts';
import { SshdProvider } from '../../lib/local/sshd-provider.ts';
import { silentLogger } from '../../lib/ports/logger.ts';
import { buildConsole, launchChromium, screenshot, seriousViolations } from '../support/browser.ts';
import { apiClient, tempDir } from '../support/local-mode.ts';
import { openRecordedSession, recordedShell, runAndExit } from '../support/recorded-session.ts';
import { type ClientKey, type EchoServer, makeClientKey, startEchoServer } from '../support/ssh.ts';

/**
 * The console in a real browser (Debian's Chromium) against a running local mode: each
 * person signs in, sees what the API lets them do and does it through the page.
 */
let orchestrator: LocalOrchestrator;
let browser: Browser;
let target: EchoServer;
let key: ClientKey;
let dataDir: string;
const contexts: BrowserContext[] = [];
const cspViolations: string[] = [];

// bob approves (leads) without being an admin; dave is the admin; erin's session is recorded.
const users = {
  alice: ['dev'],
  erin: ['dev'],
  bob: ['dev', 'leads'],
  carol: ['oncall'],
  dave: ['drawbridge-admins'],
};
const OTP = '123456';

async function writePolicy(dir: string, port: number): Promise<string> {
  const file = join(dir, 'policy.yaml');
  await writeFile(
    file,
    `version: 1
adminGroup: drawbridge-admins
quota:
  activeSessionsPerUser: 5
provisioningDeadlineMinutes: 2
selfDestructGraceMinutes: 1
breakGlass:
  groups: [oncall]
  maxDurationMinutes: 30
  quota: 1
targets:
  - name: demo
    mode: local
    host: 127.0.0.1
    port: ${port}
    allowedGroups: [dev, oncall]
    defaultDurationMinutes: 10
    maxDurationMinutes: 60
  - name: demo-approved
    mode: local
    host: 127.0.0.1
    port: ${port}
    allowedGroups: [dev]
    defaultDurationMinutes: 10
    maxDurationMinutes: 30
    approval: { approverGroups: [leads], timeoutMinutes: 15 }
  - name: demo-recorded
    mode: local
    host: 127.0.0.1
    port: ${port}
    allowedGroups: [dev]
    defaultDurationMinutes: 10
    maxDurationMinutes: 60
    access: shell
    recording: full
`,
  );
  return file;
}

/** An access token from local mode's OpenID Provider (its scripted PKCE sign-in), for API calls. */
const token = (who: keyof typeof users) => orchestrator.signIn(who);

const pages = new Map<string, Page>();

/** What erin typed on a recorded bastion and what it printed, once her session has ended. */
let erinsRecording: Promise<{ id: string }>;

/** A real recorded session: ssh -tt to the bastion, a few commands, exit, then the end. */
async function recordErinsSession(): Promise<{ id: string }> {
  const erin = apiClient(orchestrator.url, await token('erin'));
  const session = await openRecordedSession(erin, 'demo-recorded', key.publicKey);
  const shell = await recordedShell(session, key.privateKeyPath, dataDir);
  await runAndExit(shell, [
    { command: 'echo replayed-$((6*7))', output: /replayed-42/ },
    { command: 'printf "%s-%s\\n" in the-browser', output: /in-the-browser/ },
  ]);
  const ended = await erin.end(session.id);
  if (ended.body.status !== 'ENDED')
    throw new Error(`erin's session is ${String(ended.body.status)}`);
  return { id: session.id };
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return page;
}

/**
 * From the console's sign-in button through the provider's own pages (password, then the
 * one-time code or its skip button) and back with a code the console exchanges (PKCE).
 */
async function signInThroughProvider(
  page: Page,
  who: keyof typeof users,
  secondFactor: 'code' | 'skip',
): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('User').fill(who);
  await page.getByLabel('Password').fill(`${who}-pass`);
  await page.getByRole('button', { name: 'Continue' }).click();
  if (secondFactor === 'code') {
    await page.getByLabel('One-time code').fill(OTP);
    await page.getByRole('button', { name: 'Verify' }).click();
  } else {
    await page.getByRole('button', { name: /^Skip/ }).click();
  }
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A page signed in as this person through the provider (once per person). */
async function signedIn(who: keyof typeof users): Promise<Page> {
  const known = pages.get(who);
  if (known) return known;
  const page = await newPage();
  await page.goto(`${orchestrator.url}/`);
  // bob approves with a second factor; the others sign in with their password only.
  await signInThroughProvider(page, who, who === 'bob' ? 'code' : 'skip');
  pages.set(who, page);
  return page;
}

async function expectAccessible(page: Page): Promise<void> {
  expect(await seriousViolations(page)).toEqual([]);
}

beforeAll(async () => {
  buildConsole();
  dataDir = await tempDir('console');
  target = await startEchoServer();
  key = await makeClientKey(dataDir);
  orchestrator = await startLocalOrchestrator({
    dataDir,
    policyFile: await writePolicy(dataDir, target.port),
    users: Object.entries(users).map(([name, groups]) => ({
      name,
      password: `${name}-pass`,
      otp: '123456',
      groups,
    })),
    logger: silentLogger,
    reapIntervalMs: 60_000,
    watchIntervalMs: 250,
    // The login profile of whoever runs the tests may take seconds; the recorder is the same.
    recordedShell: '/bin/sh',
  });
  // Made while the browser starts and the first pages run; the replay test waits for it.
  erinsRecording = recordErinsSession();
  erinsRecording.catch(() => undefined);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await orchestrator?.stop();
  await target?.close();
  const provider = new SshdProvider({ dataDir });
  for (const resource of await provider.listOwned()) await provider.destroy(resource);
});

// A loaded two-core machine runs Chromium, sshd and the orchestrator at once: generous limits.
describe('the console in Chromium', { timeout: 45_000 }, () => {
  let aliceReadyId = '';
  let alicePendingId = '';

  it('lets alice sign in, request a session and see it READY with a countdown', async () => {
    const page = await signedIn('alice');
    // Not an admin: the API refuses her the admin pages, so the console does not offer them.
    await expect(page.getByRole('link', { name: 'Live bastions' }).count()).resolves.toBe(0);
    await expect(page.getByRole('link', { name: 'Usage and cost' }).count()).resolves.toBe(0);
    await page.getByLabel('Target').selectOption('demo');
    await page.getByLabel('Reason').fill('console end-to-end');
    await page.getByLabel('Your SSH public key').fill(key.publicKey);
    await page.getByRole('button', { name: 'Request access' }).click();
    const card = page.locator('article.session', { hasText: 'READY' });
    await card.waitFor({ timeout: 20_000 });
    await expect(card.locator('.countdown').textContent()).resolves.toMatch(/^\d\d:\d\d left$/);
    await expect(card.getByText('ssh -J').count()).resolves.toBeGreaterThan(0);
    aliceReadyId = String((await card.getAttribute('aria-label'))?.replace('session ', '') ?? '');
    await screenshot(page, 'my-sessions');
    await expectAccessible(page);
  });

  it('marks a recorded target and session: a Recorded badge and the ssh -tt line, no jump or forward', async () => {
    const page = await signedIn('alice');
    const picker = page.getByLabel('Target');
    await expect(picker.locator('option[value="demo-recorded"]').textContent()).resolves.toBe(
      'demo-recorded (recorded)',
    );
    await picker.selectOption('demo-recorded');
    await page.getByText('demo-recorded is recorded: a session there is a shell').waitFor();
    await page.getByLabel('Reason').fill('recorded, from the console');
    await page.getByLabel('Your SSH public key').fill(key.publicKey);
    await page.getByRole('button', { name: 'Request access' }).click();
    const card = page.locator('article.session', { hasText: 'demo-recorded' });
    await card.getByText('READY').waitFor({ timeout: 20_000 });
    await expect(card.locator('.tag.recorded').textContent()).resolves.toBe('Recorded');
    await card.getByText(/^Recorded: terminal output, not what you type;/).waitFor();
    const shell = card.locator('.copyable', { hasText: 'Shell on the bastion (recorded)' });
    const line = String(await shell.locator('code').textContent());
    expect(line).toMatch(
      /^ssh -tt -o StrictHostKeyChecking=yes -o UserKnownHostsFile=~\/\.ssh\/drawbridge-s-[0-9a-z]+\.known_hosts -p \d+ \S+@127\.0\.0\.1$/,
    );
    // The host key goes, pinned, into the very file that line reads.
    const pin = card.locator('.copyable', { hasText: "Pin the bastion's host key" });
    const knownHostsFile = /UserKnownHostsFile=(\S+)/.exec(line)?.[1] ?? '?';
    await expect(pin.locator('code').textContent()).resolves.toMatch(
      new RegExp(
        `^echo '\\[127\\.0\\.0\\.1\\]:\\d+ ssh-ed25519 [A-Za-z0-9+/=]+' > ${knownHostsFile}$`,
      ),
    );
    await expect(card.getByText(/ssh -J| -N -L |LocalForward/).count()).resolves.toBe(0);
    await screenshot(page, 'my-sessions-recorded');
    await expectAccessible(page);
    const id = String((await card.getAttribute('aria-label'))?.replace('session ', '') ?? '');
    await apiClient(orchestrator.url, await token('alice')).end(id);
  });

  it('signs in through the provider, silently again on reload, and signs out of both', async () => {
    const page = await newPage();
    await page.goto(`${orchestrator.url}/`);
    // The provider's pages are its own responses, under its own CSP (no script at all), not
    // the console's.
    const loginPage = page.waitForResponse((response) =>
      /^\/oidc\/interaction\/[^/]+$/.test(new URL(response.url()).pathname),
    );
    const signingIn = signInThroughProvider(page, 'carol', 'code');
    const csp = (await loginPage).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    await signingIn;
    expect(new URL(page.url()).origin).toBe(orchestrator.url);
    await expect(page.locator('.who').textContent()).resolves.toBe('carol');

    // Tokens live in memory only: a reload signs in again without a form (prompt=none).
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expect(page.getByLabel('User').count()).resolves.toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/oidc\/session\/end/);
    // The provider asks, on its own page, then comes back to the console signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(new URL(page.url()).origin).toBe(orchestrator.url);
    // The provider's session ended too: a reload stays signed out, and signing in asks again.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Password').waitFor();
  });

  it("queues alice's request for bob, an approver who is no admin, and refuses him his own", async () => {
    const alice = apiClient(orchestrator.url, await token('alice'));
    const bobApi = apiClient(orchestrator.url, await token('bob'));
    const asked = { target: 'demo-approved', reason: 'needs approval', publicKey: key.publicKey };
    alicePendingId = String((await alice.call('POST', '/sessions', asked)).body.id);
    const bobsOwn = String((await bobApi.call('POST', '/sessions', asked)).body.id);

    const page = await signedIn('bob');
    await expect(page.getByRole('link', { name: 'Reviews' }).count()).resolves.toBe(0);
    await page.goto(`${orchestrator.url}/#/approvals`);
    const queue = page.getByRole('region', { name: 'Waiting for a decision' });
    const theirs = queue.getByRole('article', { name: `request ${alicePendingId}` });
    const own = page
      .getByRole('region', { name: 'Your own requests' })
      .getByRole('article', { name: `request ${bobsOwn}` });
    await theirs.waitFor();
    await own.waitFor();
    await expect(own.getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await expect(own.textContent()).resolves.toContain('This is your own request');
    await expect(queue.getByRole('article', { name: `request ${bobsOwn}` }).count()).resolves.toBe(
      0,
    );
    await screenshot(page, 'approvals');
    await expectAccessible(page);

    await theirs.getByLabel('Comment').fill('ok for today');
    await theirs.getByRole('button', { name: 'Approve' }).click();
    const decided = await alice.waitFor(alicePendingId, ['PROVISIONING', 'READY'], 20_000);
    expect(decided.body.approval).toMatchObject({ decidedBy: 'bob', comment: 'ok for today' });

    // The notification's deep link opens the one request.
    await page.goto(`${orchestrator.url}/#/approvals/${bobsOwn}`);
    await page.getByText('This is your own request').waitFor();
  });

  it('lets dave, an admin, close a break-glass review', async () => {
    const carol = apiClient(orchestrator.url, await token('carol'));
    const glass = await carol.call('POST', '/sessions', {
      target: 'demo',
      reason: 'incident response',
      publicKey: key.publicKey,
      breakGlass: true,
      incidentId: 'INC-42',
    });
    expect(glass.status).toBe(202);
    const page = await signedIn('dave');
    await page.goto(`${orchestrator.url}/#/reviews`);
    const review = page.getByRole('article', { name: `review ${String(glass.body.id)}` });
    await review.getByLabel('Comment').fill('checked with the incident lead');
    await screenshot(page, 'reviews');
    await expectAccessible(page);
    await review.getByRole('button', { name: 'Close review' }).click();
    await review.getByText('checked with the incident lead').waitFor();
    await expect(review.locator('.status').textContent()).resolves.toBe('reviewed');
  });

  it('draws the usage charts with data and lists live bastions for an admin', async () => {
    const page = await signedIn('dave');
    await page.goto(`${orchestrator.url}/#/usage`);
    await page.getByRole('img', { name: 'Bastion-hours per day' }).waitFor();
    const bars = page.locator('figure.chart rect.bar');
    const heights = await bars.evaluateAll((rects) =>
      rects.map((rect) => Number(rect.getAttribute('height'))),
    );
    expect(Math.max(...heights)).toBeGreaterThan(0);
    // Time to ready: p50 and p95 of the sessions that became READY, and a bar per target.
    const overall = page
      .getByRole('table', { name: 'Time to ready percentiles' })
      .getByRole('row', { name: /^Request to READY \(all\)/ });
    await expect(overall.getByRole('cell').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^[1-9]\d*$/),
      expect.stringMatching(/^\d[\d.e-]* s$/),
      expect.stringMatching(/^\d[\d.e-]* s$/),
    ]);
    const perTarget = page
      .getByRole('img', { name: 'Time from request to READY per target, p95 (seconds)' })
      .locator('rect.bar');
    await expect(perTarget.count()).resolves.toBeGreaterThan(0);
    await screenshot(page, 'usage');
    await expectAccessible(page);

    await page.goto(`${orchestrator.url}/#/live`);
    await page.getByRole('row', { name: /alice/ }).first().waitFor();
    await screenshot(page, 'live-bastions');
    await expectAccessible(page);
  });

  it('shows a session with its verified audit trail', async () => {
    const page = await signedIn('alice');
    await page.goto(`${orchestrator.url}/#/sessions/${aliceReadyId}`);
    await page.getByText(/^Verified: \d+ events, hash chain intact\.$/).waitFor();
    // Not recorded (jump-only): its connections are what the player shows.
    await page.locator('.player[data-state="shown"]').waitFor();
    await screenshot(page, 'session-detail');
    await expectAccessible(page);
  });

  it("replays erin's recorded session for dave, an admin, with the player Drawbridge serves", async () => {
    const { id } = await erinsRecording;
    const page = await signedIn('dave');
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).origin !== orchestrator.url) elsewhere.push(request.url());
    });
    await page.goto(`${orchestrator.url}/#/sessions/${id}`);
    await page.getByText(/^Verified: \d+ events, hash chain intact\.$/).waitFor();
    // The summary says plainly that the session was recorded, and what of it.
    await expect(page.locator('.facts .tag.recorded').textContent()).resolves.toBe('Recorded');
    await page.getByText(/^Recorded: terminal output, not what you type;/).waitFor();
    await page
      .getByText(/^Recording verified: \d+ chunks, hash chain intact, ending at the head/)
      .waitFor();
    const player = page.locator('.player[data-state="shown"]');
    await player.waitFor();
    // Nothing is shown before playback; played, the terminal shows what erin's commands printed.
    const terminal = player.locator('.ap-term-text');
    await expect(terminal.textContent()).resolves.not.toContain('replayed-42');
    await player.getByRole('button', { name: 'Play' }).click();
    await expect
      .poll(() => terminal.textContent(), { timeout: 15_000 })
      .toMatch(/replayed-42[\s\S]*in-the-browser/);
    await screenshot(page, 'session-replay');
    await expectAccessible(page);
    // The player, its styles and the recording all came from Drawbridge itself.
    expect(elsewhere).toEqual([]);
    // The replay is in the trail, as dave's.
    const events = await apiClient(orchestrator.url, await token('erin')).events(id);
    expect(events.body.items).toContainEqual(
      expect.objectContaining({ type: 'recording-viewed', actor: 'dave' }),
    );
  });

  it("lets a real browser finish the CLI's sign-in at its loopback redirect", async () => {
    // Browsers check form-action on each redirect after a form post: the provider's pages must
    // let the password form's post end at the CLI's loopback listener.
    let arrived = '';
    const listener = createServer((request, response) => {
      if (request.url?.startsWith('/callback')) arrived = request.url;
      response.end('signed in');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      const url = new URL(`${orchestrator.oidc.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: orchestrator.oidc.clientId,
        redirect_uri: `http://127.0.0.1:${port}/callback`,
        response_type: 'code',
        scope: 'openid',
        state: 'cli-state',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString();
      const page = await newPage();
      await page.goto(url.href);
      await page.getByLabel('User').fill('alice');
      await page.getByLabel('Password').fill('alice-pass');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: /^Skip/ }).click();
      await page.getByText('signed in').waitFor();
      expect(arrived).toMatch(/^\/callback\?code=[^&]+&state=cli-state/);
    } finally {
      listener.close();
    }
  });

  it('never tripped the Content-Security-Policy', () => {
    expect(cspViolations, cspViolations.join('\n')).toEqual([]);
  });
});
