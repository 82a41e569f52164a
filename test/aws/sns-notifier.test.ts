import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  approvalRequest,
  breakGlassAlert,
  endedNotice,
  expiringNotice,
  grantedNotice,
} from '../../lib/app/notify.ts';
import { SnsNotifier } from '../../lib/aws/sns-notifier.ts';
import { chatText, renderChatbot, renderText, snsSubject } from '../../lib/domain/notify-format.ts';
import type { Notification } from '../../lib/ports/notifier.ts';
import { makeSession } from '../support/sessions.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:drawbridge-test-alerts';
const sns = mockClient(SNSClient);
const client = new SNSClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

const session = makeSession({
  owner: 'carol',
  ownerGroups: ['oncall'],
  breakGlass: true,
  incidentId: 'INC-77',
  reason: 'payments API down <!channel> & more',
  readyAt: NOW,
  expiresAt: NOW + 30 * 60_000,
  endedAt: NOW + 31 * 60_000,
  endReason: 'expired',
  approval: { approverGroups: ['leads'], deadline: NOW + 15 * 60_000 },
});

describe('SnsNotifier', () => {
  it('publishes one message per notification: a subject, text for e-mail, Chatbot JSON for HTTPS', async () => {
    const notifier = new SnsNotifier({ sns: client, topicArn: TOPIC });
    const alert = breakGlassAlert(session, undefined, NOW);
    await notifier.publish(alert);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'BREAK-GLASS: carol is opening prod-db (INC-77)',
      MessageStructure: 'json',
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'break-glass' },
        severity: { DataType: 'String', StringValue: 'critical' },
        target: { DataType: 'String', StringValue: 'prod-db' },
      },
    });
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    const variants = JSON.parse(input?.Message ?? '{}') as Record<string, string>;
    expect(Object.keys(variants).sort()).toEqual(['default', 'email', 'https']);
    expect(variants.default).toBe(renderText(alert));
    expect(variants.email).toBe(renderText(alert));
    expect(JSON.parse(variants.https ?? '')).toEqual(renderChatbot(alert));
  });

  it('says which notification failed and why, without the SDK error leaking further', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('no such topic'), { name: 'NotFound' }));
    const notifier = new SnsNotifier({ sns: client, topicArn: TOPIC });
    await expect(notifier.publish(grantedNotice(session, undefined, NOW))).rejects.toThrow(
      `could not publish the granted notification for ${session.id}: NotFound`,
    );
  });
});

describe('the notifications', () => {
  const all: Notification[] = [
    breakGlassAlert(session, undefined, NOW),
    approvalRequest(session, undefined, NOW),
    grantedNotice(session, undefined, NOW),
    expiringNotice(session, NOW + 25 * 60_000),
    endedNotice(session, NOW),
  ];

  it('read well as text: title, summary, aligned fields, next steps', () => {
    const text = renderText(breakGlassAlert(session, undefined, NOW));
    expect(text).toMatch(/^BREAK-GLASS: carol is opening prod-db \(INC-77\)\n\n/);
    expect(text).toContain('Who:      carol (groups: oncall)\n');
    expect(text).toContain('Incident: INC-77\n');
    expect(text).toContain(`Next steps:\n  drawbridge show ${session.id}\n`);
    expect(renderText(expiringNotice(session, NOW + 25 * 60_000))).toMatch(
      /^Expiring in 5 min: carol on prod-db/,
    );
    expect(renderText(endedNotice(session, NOW))).toContain('Open for: 31m');
  });

  it('cannot ping a Slack channel or forge a link through the reason', () => {
    for (const notification of all) {
      const chat = JSON.stringify(renderChatbot(notification));
      expect(chat).not.toContain('<!channel>');
    }
    expect(renderChatbot(all[0] as Notification)).toMatchObject({
      content: { description: expect.stringContaining('&lt;!channel&gt; &amp; more') },
    });
  });

  it('property: subjects are 1-100 printable ASCII characters, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (title) => {
        const subject = snsSubject(title);
        expect(subject.length).toBeGreaterThan(0);
        expect(subject.length).toBeLessThanOrEqual(100);
        expect(subject).toMatch(/^[\x20-\x7e]+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: chat text never carries markup characters or line breaks from the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const escaped = chatText(text);
        expect(escaped).not.toMatch(/[<>\n\r\u2028\u2029]/);
        expect(escaped.replaceAll(/&(amp|lt|gt);/g, '')).not.toContain('&');
      }),
      { numRuns: 2000 },
    );
  });
});
