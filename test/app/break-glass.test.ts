import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { provisionSession } from '../../lib/app/provision-session.ts';
import { listReviews, reviewSession } from '../../lib/app/reviews.ts';
import { revokeSession } from '../../lib/app/revoke-session.ts';
import { SnsNotifier } from '../../lib/aws/sns-notifier.ts';
import {
  ConflictError,
  ForbiddenError,
  QuotaExceededError,
  UnauthorizedError,
  ValidationError,
} from '../../lib/domain/errors.ts';
import type { TestWorld } from '../support/fakes.ts';
import { lifecycleWorld, MINUTE, open, person, SOURCE_IP } from './break-glass-world.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:drawbridge-test-alerts';
const sns = mockClient(SNSClient);

let world: TestWorld;
beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  world = lifecycleWorld();
  // The real adapter over a mocked SNS: what leaves the process is what subscribers get.
  world.deps.notifier = new SnsNotifier({
    sns: new SNSClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
    topicArn: TOPIC,
  });
});

const carol = () => person('carol', ['oncall', 'dev'], world.clock.now());
const breakGlass = { breakGlass: true, incidentId: 'inc-123' };

interface ChatbotMessage {
  version: string;
  source: string;
  content: { textType: string; title: string; description: string };
  metadata: { threadId: string; eventType: string };
}

function publishedMessage(index = 0) {
  const input = sns.commandCalls(PublishCommand)[index]?.args[0].input;
  if (!input?.Message) throw new Error('nothing was published');
  const variants = JSON.parse(input.Message) as Record<string, string>;
  const chat = JSON.parse(variants.https ?? '{}') as ChatbotMessage;
  return { input, variants, chat };
}

describe('break-glass by someone outside the break-glass groups', () => {
  it('is 403 and creates nothing: no session, no quota, no review, no alert', async () => {
    const dave = person('dave', ['dba'], world.clock.now());
    await expect(open(world, dave, breakGlass)).rejects.toThrow(ForbiddenError);
    await expect(open(world, dave, breakGlass)).rejects.toThrow(
      'only members of the break-glass groups may break glass',
    );
    expect(world.store.sessions.size).toBe(0);
    expect(world.store.reviews.size).toBe(0);
    expect([...world.store.active.values()].every((count) => count === 0)).toBe(true);
    expect(world.queue.queued).toEqual([]);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('refuses a target break-glass does not cover, and an unknown one, before anything is written', async () => {
    await expect(open(world, carol(), { ...breakGlass, target: 'secrets' })).rejects.toThrow(
      "break-glass does not cover target 'secrets'",
    );
    await expect(open(world, carol(), { ...breakGlass, target: 'nope' })).rejects.toThrow(
      ValidationError,
    );
    expect(world.store.sessions.size).toBe(0);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('break-glass by an on-call member', () => {
  it('succeeds over the normal quota, with no approval wait, on its own counter', async () => {
    // carol may open demo normally; her one normal session uses up the normal quota...
    await open(world, carol(), { target: 'demo' });
    await expect(open(world, carol(), { target: 'demo' })).rejects.toThrow(QuotaExceededError);
    // ...and break-glass still goes through, to a target her groups could not open at all.
    const { session } = await open(world, carol(), breakGlass);
    expect(session).toMatchObject({
      status: 'REQUESTED',
      breakGlass: true,
      incidentId: 'INC-123',
      quotaKind: 'break-glass',
      target: 'prod-db',
    });
    expect(world.queue.queued).toContain(session.id);
    expect(world.store.active.get('carol')).toBe(1);
    expect(world.store.active.get('carol#break-glass')).toBe(1);
    // Its own quota of 1: a second live break-glass session is refused, with its own message.
    await expect(open(world, carol(), breakGlass)).rejects.toThrow(QuotaExceededError);
  });

  it('publishes exactly one alert saying who, what target, from where, why, the incident and until when', async () => {
    const { session, alert } = await open(world, carol(), breakGlass);
    expect(alert).toBe('sent');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const { input, variants, chat } = publishedMessage();
    expect(input).toMatchObject({
      TopicArn: TOPIC,
      MessageStructure: 'json',
      Subject: 'BREAK-GLASS: carol is opening prod-db (INC-123)',
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'break-glass' },
        severity: { DataType: 'String', StringValue: 'critical' },
        target: { DataType: 'String', StringValue: 'prod-db' },
      },
    });
    const until = new Date(session.credentialExpiresAt).toISOString();
    for (const text of [variants.default, variants.email]) {
      expect(text).toMatch(/^Who: +carol \(groups: oncall, dev\)$/m);
      expect(text).toMatch(/^Target: +prod-db \(ec2, 10\.0\.1\.20:5432\)$/m);
      expect(text).toMatch(new RegExp(`^From: +${SOURCE_IP.replaceAll('.', '\\.')}$`, 'm'));
      expect(text).toMatch(/^Why: +database is down, INC-123$/m);
      expect(text).toMatch(/^Incident: +INC-123$/m);
      expect(text).toContain(`at the latest ${until}`);
      expect(text).toContain(session.id);
    }
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown' },
      metadata: { threadId: session.id, eventType: 'drawbridge.break-glass' },
    });
    expect(chat.content.title).toContain('BREAK-GLASS: carol is opening prod-db (INC-123)');
    expect(chat.content.description).toContain('*Incident:* INC-123');
    expect(chat.content.description).toContain(`*From:* ${SOURCE_IP}`);
  });

  it('opens a review in the same write as the session, which stays open until an admin closes it', async () => {
    const { session } = await open(world, carol(), breakGlass);
    const review = await world.store.getReview(session.id);
    expect(review).toEqual({
      sessionId: session.id,
      requester: 'carol',
      target: 'prod-db',
      incidentId: 'INC-123',
      reason: 'database is down, INC-123',
      sourceIp: SOURCE_IP,
      durationMinutes: 30,
      requestedAt: session.createdAt,
      status: 'open',
    });
    // Ending the session does not close the review.
    await revokeSession(world.deps, carol(), session.id);
    expect((await world.store.getReview(session.id))?.status).toBe('open');
  });

  it('marks every audit event of the session as break-glass', async () => {
    const { session } = await open(world, carol(), breakGlass);
    await provisionSession(world.deps, session.id);
    await revokeSession(world.deps, carol(), session.id);
    const events = await world.store.listEvents(session.id);
    expect(events.map((event) => event.type)).toEqual([
      'requested',
      'provision',
      'attach',
      'end',
      'ended',
    ]);
    for (const event of events) {
      expect(event.detail, event.type).toMatchObject({ breakGlass: true, incidentId: 'INC-123' });
    }
  });

  it('gives its own counter back when the session ends', async () => {
    const { session } = await open(world, carol(), breakGlass);
    await revokeSession(world.deps, carol(), session.id);
    expect(world.store.active.get('carol#break-glass')).toBe(0);
    await expect(open(world, carol(), breakGlass)).resolves.toMatchObject({ alert: 'sent' });
  });

  it('is capped by the shorter break-glass maximum', async () => {
    await expect(open(world, carol(), { ...breakGlass, durationMinutes: 90 })).rejects.toThrow(
      'exceeds the break-glass maximum of 60',
    );
    const { session } = await open(world, carol(), { ...breakGlass, durationMinutes: undefined });
    expect(session.durationMinutes).toBe(30);
  });

  it('skips the approval a target otherwise needs', async () => {
    const { session } = await open(world, carol(), { ...breakGlass, target: 'payments' });
    expect(session.status).toBe('REQUESTED');
    expect(session.approval).toBeUndefined();
  });

  it('asks for a fresh second factor when the policy says so (401 telling to sign in again)', async () => {
    const noMfa = person('carol', ['oncall'], world.clock.now(), ['pwd']);
    await expect(open(world, noMfa, breakGlass)).rejects.toThrow(UnauthorizedError);
    await expect(open(world, noMfa, breakGlass)).rejects.toThrow(/sign in again with MFA/);
    const stale = person('carol', ['oncall'], world.clock.now() - 16 * MINUTE);
    await expect(open(world, stale, breakGlass)).rejects.toThrow(/signed in 16 minutes ago/);
    expect(world.store.sessions.size).toBe(0);
  });

  it('needs a well-formed incident id, and incidentId only with breakGlass', async () => {
    await expect(open(world, carol(), { breakGlass: true })).rejects.toThrow(/needs an incidentId/);
    await expect(
      open(world, carol(), { breakGlass: true, incidentId: 'see slack' }),
    ).rejects.toThrow(/must look like INC-123/);
    await expect(open(world, carol(), { target: 'demo', incidentId: 'INC-1' })).rejects.toThrow(
      /goes with breakGlass/,
    );
  });

  it('still grants access when the alert cannot be sent, and says so', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('throttled'), { name: 'Throttling' }));
    const errors: unknown[] = [];
    world.deps.logger = { info() {}, warn() {}, error: (...args) => errors.push(args) };
    const emitted: string[] = [];
    world.deps.metrics = { emit: (name) => emitted.push(name) };
    const { session, alert } = await open(world, carol(), breakGlass);
    expect(alert).toBe('failed');
    expect(session.status).toBe('REQUESTED');
    expect(world.queue.queued).toContain(session.id);
    expect(emitted).toContain('NotificationFailures');
    expect(errors).toHaveLength(1);
  });
});

describe('reviews', () => {
  const admin = () => person('erin', ['drawbridge-admins'], world.clock.now());

  it('lists open reviews first, newest first, for admins only', async () => {
    const first = (await open(world, carol(), breakGlass)).session;
    await revokeSession(world.deps, carol(), first.id);
    world.clock.advance(MINUTE);
    const second = (await open(world, carol(), { ...breakGlass, incidentId: 'INC-124' })).session;
    await revokeSession(world.deps, carol(), second.id);
    world.clock.advance(MINUTE);
    const third = (await open(world, carol(), { ...breakGlass, incidentId: 'INC-125' })).session;
    await reviewSession(world.deps, admin(), second.id, {
      verdict: 'appropriate',
      comment: 'database outage, confirmed',
    });

    await expect(listReviews(world.deps, carol(), { status: 'all', limit: 10 })).rejects.toThrow(
      ForbiddenError,
    );
    const all = await listReviews(world.deps, admin(), { status: 'all', limit: 10 });
    expect(all.items.map((review) => [review.sessionId, review.status])).toEqual([
      [third.id, 'open'],
      [first.id, 'open'],
      [second.id, 'reviewed'],
    ]);
    // Paging walks the same order, one at a time.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listReviews(world.deps, admin(), { status: 'all', limit: 1, cursor });
      seen.push(...page.items.map((review) => review.sessionId));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([third.id, first.id, second.id]);
    const open_ = await listReviews(world.deps, admin(), { status: 'open', limit: 10 });
    expect(open_.items.map((review) => review.sessionId)).toEqual([third.id, first.id]);
  });

  it('is closed once, by an admin who is not the responder', async () => {
    const { session } = await open(world, carol(), breakGlass);
    const decision = { verdict: 'inappropriate' as const, comment: 'not an outage' };
    await expect(reviewSession(world.deps, carol(), session.id, decision)).rejects.toThrow(
      ForbiddenError,
    );
    const carolAdmin = person('carol', ['oncall', 'drawbridge-admins'], world.clock.now());
    await expect(reviewSession(world.deps, carolAdmin, session.id, decision)).rejects.toThrow(
      'you cannot review your own break-glass session',
    );
    const closed = await reviewSession(world.deps, admin(), session.id, decision);
    expect(closed).toMatchObject({
      status: 'reviewed',
      verdict: 'inappropriate',
      comment: 'not an outage',
      reviewedBy: 'erin',
      reviewedAt: world.clock.now(),
    });
    await expect(reviewSession(world.deps, admin(), session.id, decision)).rejects.toThrow(
      ConflictError,
    );
  });
});
