import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderChatbot, renderText, snsSubject } from '../domain/notify-format.ts';
import type { Notification, Notifier } from '../ports/notifier.ts';

/**
 * Local mode's alert channel: one JSON line per notification in the data directory (with the
 * subject, the text an e-mail subscriber would read and the chat payload, exactly as SNS
 * would deliver them), plus a one-line echo for the terminal that runs `npm start`.
 */
export class FileNotifier implements Notifier {
  private readonly file: string;
  private readonly echo: ((line: string) => void) | undefined;

  constructor(file: string, echo?: (line: string) => void) {
    this.file = file;
    this.echo = echo;
  }

  async publish(notification: Notification): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const subject = snsSubject(notification.title);
    const line = JSON.stringify({
      at: new Date(notification.at).toISOString(),
      kind: notification.kind,
      severity: notification.severity,
      sessionId: notification.sessionId,
      subject,
      text: renderText(notification),
      chat: renderChatbot(notification),
    });
    await appendFile(this.file, `${line}\n`, { mode: 0o600 });
    this.echo?.(`[${notification.severity}] ${subject}`);
  }
}
