import { snsAlertClient } from '../aws/sns-client.ts';
import { SnsNotifier } from '../aws/sns-notifier.ts';
import type { Config } from '../config.ts';
import type { Notifier } from '../ports/notifier.ts';

/**
 * The alerts topic (SNS), or none when the stage sets no ALERT_TOPIC_ARN: the one setting that
 * may be absent on purpose. The use cases then send nothing, and a break-glass answer says
 * that no alert went out.
 */
export function alerts(config: Config): { notifier?: Notifier } {
  const topicArn = config.settings.ALERT_TOPIC_ARN;
  return topicArn ? { notifier: new SnsNotifier({ sns: snsAlertClient(), topicArn }) } : {};
}
