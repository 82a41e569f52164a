/** What Drawbridge tells people about, besides the audit trail. */
export const NOTIFICATION_KINDS = [
  'break-glass',
  'approval-requested',
  'granted',
  'expiring',
  'ended',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationField {
  label: string;
  value: string;
}

/**
 * A message in terms of its content, not of any channel: the adapter renders it for e-mail,
 * chat and paging (lib/domain/notify-format.ts). Text that came from a caller (reason, subject)
 * is carried as is; renderers escape it for their channel.
 */
export interface Notification {
  kind: NotificationKind;
  severity: 'critical' | 'warning' | 'info';
  /** one line: the e-mail subject, the chat title, the page's summary */
  title: string;
  /** a sentence or two under the title */
  summary: string;
  /** who, what target, from where, why, incident, until when — in that order */
  fields: NotificationField[];
  /** commands to run next */
  nextSteps: string[];
  sessionId: string;
  target: string;
  owner: string;
  /** epoch ms */
  at: number;
}
