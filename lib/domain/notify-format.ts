import type { Notification } from './notification.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to remove them
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One line of plain text: no control characters, no line or bidi tricks. */
export const plain = (text: string): string => text.replace(CONTROL, ' ');

/**
 * SNS subjects are at most 100 printable ASCII characters with no line breaks; e-mail
 * clients and PagerDuty show them as the headline.
 */
export function snsSubject(title: string): string {
  const ascii = plain(title)
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  const subject = ascii.length > 100 ? `${ascii.slice(0, 99)}~` : ascii;
  return subject || 'Drawbridge notification';
}

/**
 * Slack (through AWS Chatbot) reads &, < and > as markup: `<!channel>` would page a whole
 * channel, `<https://evil|click>` would disguise a link. Escaping them leaves text as text.
 */
export const chatText = (text: string): string =>
  plain(text).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The text every e-mail, SMS and plain subscriber gets. */
export function renderText(notification: Notification): string {
  const width = Math.max(...notification.fields.map((field) => field.label.length), 0) + 2;
  const lines = [
    plain(notification.title),
    '',
    plain(notification.summary),
    '',
    ...notification.fields.map(
      (field) => `${`${plain(field.label)}:`.padEnd(width)}${plain(field.value)}`,
    ),
  ];
  if (notification.nextSteps.length > 0) {
    lines.push('', 'Next steps:', ...notification.nextSteps.map((step) => `  ${plain(step)}`));
  }
  lines.push('', `-- Drawbridge, ${new Date(notification.at).toISOString()}`);
  return `${lines.join('\n')}\n`;
}

const ICONS: Record<Notification['severity'], string> = {
  critical: ':rotating_light:',
  warning: ':hourglass_flowing_sand:',
  info: ':bridge_at_night:',
};

/**
 * AWS Chatbot's custom notification schema (version 1.0, source custom): Slack and Teams
 * render the title, the markdown description and the next steps; `threadId` keeps every
 * notification of one session in one thread.
 */
export function renderChatbot(notification: Notification): Record<string, unknown> {
  return {
    version: '1.0',
    source: 'custom',
    id: `${notification.sessionId}:${notification.kind}:${notification.at}`,
    content: {
      textType: 'client-markdown',
      title: `${ICONS[notification.severity]} ${chatText(notification.title)}`,
      description: [
        chatText(notification.summary),
        '',
        ...notification.fields.map(
          (field) => `*${chatText(field.label)}:* ${chatText(field.value)}`,
        ),
      ].join('\n'),
      nextSteps: notification.nextSteps.map((step) => `\`${plain(step).replaceAll('`', "'")}\``),
      keywords: [notification.kind, notification.target],
    },
    metadata: {
      threadId: notification.sessionId,
      summary: chatText(snsSubject(notification.title)),
      eventType: `drawbridge.${notification.kind}`,
      relatedResources: [notification.sessionId],
      additionalContext: Object.fromEntries(
        notification.fields.map((field) => [plain(field.label), chatText(field.value)]),
      ),
    },
  };
}
