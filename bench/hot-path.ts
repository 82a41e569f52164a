// The AWS SDK packages each function loads at cold start (its hot path), and nothing else.
// bench/cold-start.ts measures every function against a bare module importing exactly these;
// test/functions/cold-start-imports.test.ts fails if a bundle statically imports anything more.
// EC2 and Systems Manager are never here: they load on the first call that needs them.

const DYNAMODB = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'];
/** POST /sessions, approve, deny: the table, the provision queue, the alerts topic. */
const REQUEST = [...DYNAMODB, '@aws-sdk/client-sqs', '@aws-sdk/client-sns'];
const LOGS = '@aws-sdk/client-cloudwatch-logs';
/**
 * The functions that act on bastions: those, plus EventBridge Scheduler (layer 2). CloudWatch
 * Logs (a recorded session's chain head, read when it ends) loads on first use.
 */
const ACTING = [...REQUEST, '@aws-sdk/client-scheduler'];

export const HOT_PATH: Record<string, { file: string; sdk: string[] }> = {
  getSession: { file: 'functions/get-session.ts', sdk: DYNAMODB },
  listSessions: { file: 'functions/list-sessions.ts', sdk: DYNAMODB },
  listApprovals: { file: 'functions/list-approvals.ts', sdk: DYNAMODB },
  /** the console's page and assets: no AWS service at all */
  console: { file: 'functions/console.ts', sdk: [] },
  listReviews: { file: 'functions/list-reviews.ts', sdk: DYNAMODB },
  reviewSession: { file: 'functions/review-session.ts', sdk: DYNAMODB },
  // a recorded session's chunks: CloudWatch Logs loads on first use
  verifyAudit: { file: 'functions/verify-audit.ts', sdk: DYNAMODB },
  getRecording: { file: 'functions/get-recording.ts', sdk: [...DYNAMODB, LOGS] },
  usage: { file: 'functions/usage.ts', sdk: DYNAMODB },
  listTargets: { file: 'functions/list-targets.ts', sdk: DYNAMODB },
  sessionEvents: {
    file: 'functions/session-events.ts',
    sdk: [...DYNAMODB, '@aws-sdk/client-cloudwatch-logs'],
  },
  issueCredentials: {
    file: 'functions/issue-credentials.ts',
    sdk: [...DYNAMODB, '@aws-sdk/client-sts'],
  },
  requestSession: { file: 'functions/request-session.ts', sdk: REQUEST },
  approveSession: { file: 'functions/approve-session.ts', sdk: REQUEST },
  denySession: { file: 'functions/deny-session.ts', sdk: REQUEST },
  provision: { file: 'functions/provision.ts', sdk: ACTING },
  onInstanceState: { file: 'functions/on-instance-state.ts', sdk: ACTING },
  onBastionLog: { file: 'functions/on-bastion-log.ts', sdk: ACTING },
  expire: { file: 'functions/expire.ts', sdk: ACTING },
  reap: { file: 'functions/reap.ts', sdk: ACTING },
  endSession: { file: 'functions/end-session.ts', sdk: ACTING },
  extendSession: { file: 'functions/extend-session.ts', sdk: ACTING },
};

/** The bundle options serverless.yml gives serverless-esbuild (custom.esbuild). */
export const BUNDLE_OPTIONS = {
  bundle: true,
  minify: true,
  target: 'node24',
  platform: 'node',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  },
  external: ['@aws-sdk/*'],
} as const;
