import * as z from 'zod/mini';
import { parseDuration } from '../lib/domain/durations.ts';
import { SESSION_ID_PATTERN } from '../lib/domain/session.ts';
import { SessionView } from './api-client.ts';
import { DECISION_FLAGS, EXTEND_FLAGS } from './api-words.ts';
import type { Context } from './context.ts';
import { ExitCode, NotFoundError, UsageError } from './errors.ts';
import { clean, json, relativeTime } from './format.ts';
import { updateExpiry } from './ssh.ts';

/** What the lifecycle routes answer: a session view, plus notices that did not stop them. */
const LifecycleView = z.extend(SessionView, {
  notices: z.optional(z.array(z.string())),
  extendedMinutes: z.optional(z.number()),
  approval: z.optional(
    z.looseObject({
      approverGroups: z.optional(z.array(z.string())),
      deadline: z.optional(z.string()),
      decidedBy: z.optional(z.string()),
    }),
  ),
});
type LifecycleView = z.infer<typeof LifecycleView>;

function sessionId(context: Context): string {
  const id = context.positionals[0] ?? '';
  if (!SESSION_ID_PATTERN.test(id)) throw new NotFoundError(`no session ${clean(id, 40)}`);
  return id;
}

function printNotices(context: Context, view: LifecycleView): void {
  for (const notice of view.notices ?? []) context.err(`drawbridge: note: ${clean(notice, 500)}\n`);
}

/** `drawbridge extend <id> --by 15m --reason "..."`: more time, within the policy. */
export async function extend(context: Context): Promise<number> {
  const id = sessionId(context);
  const by = context.string('by');
  if (by === undefined) throw new UsageError('--by is required: how much longer, e.g. --by 15m');
  let byMinutes: number;
  try {
    byMinutes = parseDuration(by);
  } catch (error) {
    throw new UsageError(`--by: ${(error as Error).message}`);
  }
  if (byMinutes < 1) throw new UsageError('--by: must be at least 1m');
  const reason = context.string('reason');
  if (!reason) throw new UsageError('--reason is required: say why you need more time');
  const client = await context.client();
  const { data: view } = await client.request(
    'POST',
    `/sessions/${encodeURIComponent(id)}/extend`,
    LifecycleView,
    // Not retried: a retry after a lost answer would extend twice.
    { body: { byMinutes, reason }, flags: EXTEND_FLAGS },
  );
  // The key on this machine lives as long as the window now does (sweepKeys reads this).
  if (view.expiresAt) await updateExpiry(context.paths.keysDir, view.id, view.expiresAt);
  if (context.json) {
    context.out(json(view));
    return ExitCode.ok;
  }
  printNotices(context, view);
  context.out(
    `${view.id} now expires at ${clean(view.expiresAt ?? '?', 40)} (${relativeTime(view.expiresAt, Date.now())}); extended by ${view.extendedMinutes ?? byMinutes}m in all\n`,
  );
  return ExitCode.ok;
}

async function decide(context: Context, verb: 'approve' | 'deny'): Promise<number> {
  const id = sessionId(context);
  const comment = context.string('comment');
  const client = await context.client();
  const { data: view } = await client.request(
    'POST',
    `/sessions/${encodeURIComponent(id)}/${verb}`,
    LifecycleView,
    { body: comment ? { comment } : {}, flags: DECISION_FLAGS },
  );
  if (context.json) {
    context.out(json(view));
    return ExitCode.ok;
  }
  context.out(
    verb === 'approve'
      ? `approved ${view.id} for ${clean(view.owner, 64)} on ${clean(view.target, 64)}: ${clean(view.status, 32)}\n`
      : `denied ${view.id} for ${clean(view.owner, 64)} on ${clean(view.target, 64)}\n`,
  );
  return ExitCode.ok;
}

/** `drawbridge approve <id> [--comment "..."]`: an approver lets a pending request go ahead. */
export const approve = (context: Context): Promise<number> => decide(context, 'approve');

/** `drawbridge deny <id> [--comment "..."]`: an approver refuses a pending request. */
export const deny = (context: Context): Promise<number> => decide(context, 'deny');

/** `open --break-glass --incident INC-123`: both or neither. */
export function breakGlassFlags(
  context: Context,
): { breakGlass: true; incidentId: string } | Record<string, never> {
  const breakGlass = context.flag('break-glass');
  const incident = context.string('incident');
  if (breakGlass && !incident) {
    throw new UsageError('--break-glass needs --incident, e.g. --incident INC-123');
  }
  if (incident !== undefined && !breakGlass) {
    throw new UsageError('--incident goes with --break-glass');
  }
  return breakGlass && incident ? { breakGlass: true, incidentId: incident } : {};
}

const RequestFacts = z.looseObject({
  status: z.string(),
  breakGlass: z.optional(z.boolean()),
  incidentId: z.optional(z.string()),
  alert: z.optional(z.string()),
  notices: z.optional(z.array(z.string())),
  recording: z.optional(z.string()),
  approval: z.optional(
    z.looseObject({
      deadline: z.optional(z.string()),
      approverGroups: z.optional(z.array(z.string())),
    }),
  ),
});

/** What `open` says on stderr right after the request: break-glass and approval waits. */
export function announceRequest(context: Context, view: SessionView): void {
  if (context.json) return;
  const facts = RequestFacts.safeParse(view);
  if (!facts.success) return;
  const { breakGlass, incidentId, alert, notices, approval, status, recording } = facts.data;
  if (recording === 'full') {
    context.err(
      `${view.id} is RECORDED: everything shown in its terminal is kept off the bastion, and the owner, admins and auditors can replay it\n`,
    );
  }
  if (breakGlass) {
    context.err(
      `BREAK-GLASS ${clean(incidentId ?? '', 48)}: ${
        alert === 'sent'
          ? 'the security channel has been alerted'
          : alert === undefined
            ? 'requested before (alerted then)'
            : 'NO alert went out'
      }; this session will be reviewed\n`,
    );
  }
  for (const notice of notices ?? []) context.err(`drawbridge: note: ${clean(notice, 500)}\n`);
  if (status === 'PENDING_APPROVAL') {
    const who =
      approval?.approverGroups?.map((group) => clean(group, 128)).join(', ') ?? 'an approver';
    context.err(
      `${view.id} waits for approval by ${who} until ${clean(approval?.deadline ?? '?', 40)}; they run: drawbridge approve ${view.id}\n`,
    );
  }
}

/** How long `open` waits: its --wait-timeout, counted from the approval deadline while one is pending. */
export function waitDeadline(view: SessionView, now: number, waitMs: number): number {
  const facts = RequestFacts.safeParse(view);
  const approvalDeadline = Date.parse(facts.data?.approval?.deadline ?? '');
  if (facts.data?.status !== 'PENDING_APPROVAL' || Number.isNaN(approvalDeadline))
    return now + waitMs;
  return Math.max(now, approvalDeadline) + waitMs;
}
