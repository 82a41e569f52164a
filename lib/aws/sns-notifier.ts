import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { renderChatbot, renderText, snsSubject } from '../domain/notify-format.ts';
import type { Notification, Notifier } from '../ports/notifier.ts';
import { errorName } from './aws-errors.ts';

export interface SnsNotifierOptions {
  sns: SNSClient;
  topicArn: string;
}

/**
 * One topic, every subscriber served in its own format: MessageStructure json gives e-mail
 * and SMS the plain text (`default`, `email`), and HTTPS subscribers (AWS Chatbot for Slack
 * and Teams, PagerDuty's SNS integration, webhooks) AWS Chatbot's custom notification JSON.
 * The Subject is the e-mail subject and PagerDuty's incident summary. Message attributes let a
 * subscription filter (e.g. PagerDuty: severity = critical only).
 */
export class SnsNotifier implements Notifier {
  readonly #options: SnsNotifierOptions;

  constructor(options: SnsNotifierOptions) {
    this.#options = options;
  }

  async publish(notification: Notification): Promise<void> {
    const text = renderText(notification);
    try {
      await this.#options.sns.send(
        new PublishCommand({
          TopicArn: this.#options.topicArn,
          Subject: snsSubject(notification.title),
          MessageStructure: 'json',
          Message: JSON.stringify({
            default: text,
            email: text,
            https: JSON.stringify(renderChatbot(notification)),
          }),
          MessageAttributes: {
            kind: { DataType: 'String', StringValue: notification.kind },
            severity: { DataType: 'String', StringValue: notification.severity },
            target: { DataType: 'String', StringValue: notification.target },
          },
        }),
      );
    } catch (error) {
      throw new Error(
        `could not publish the ${notification.kind} notification for ${notification.sessionId}: ${errorName(error)}`,
        { cause: error },
      );
    }
  }
}
