import { snsAlertClient } from '../aws/sns-client.ts';
import { SnsNotifier } from '../aws/sns-notifier.ts';
import type { Notifier } from '../ports/notifier.ts';
import { currentConfig } from './core.ts';

let notifier: Notifier | undefined;

/**
 * The alerts topic (ALERT_TOPIC_ARN), or none when the stage has no topic configured: the use
 * cases then send nothing and a break-glass answer says that no alert went out.
 */
export function alertNotifier(): Notifier | undefined {
  const topicArn = currentConfig().optional.ALERT_TOPIC_ARN;
  if (topicArn === undefined) return undefined;
  notifier ??= new SnsNotifier({ sns: snsAlertClient(), topicArn });
  return notifier;
}
