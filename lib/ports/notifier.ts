import type { Notification } from '../domain/notification.ts';

export {
  NOTIFICATION_KINDS,
  type Notification,
  type NotificationField,
  type NotificationKind,
} from '../domain/notification.ts';

/** Delivers a notification (an SNS topic, or in local mode a log file). Throws on failure. */
export interface Notifier {
  publish(notification: Notification): Promise<void>;
}
