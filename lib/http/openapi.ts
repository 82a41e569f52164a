import * as z from 'zod/mini';
import {
  CreateSessionBody,
  DecisionBody,
  ExtendSessionBody,
  IdempotencyKey,
  ListApprovalsQuery,
  ListReviewsQuery,
  ListSessionsQuery,
  ReviewBody,
  SessionIdParam,
  TargetList,
} from './schemas.ts';

/**
 * The OpenAPI document, generated from the very zod schemas that validate requests, so the
 * published contract cannot drift from what the handlers accept (`npm run openapi` writes
 * openapi.json; a test fails when the committed copy is stale).
 */
type JsonSchema = Record<string, unknown>;

const schema = (type: z.ZodMiniType): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(type, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

// an object schema (lazy ones included): its properties, each an optional query parameter
const queryParameters = (type: z.ZodMiniType) =>
  Object.entries((schema(type).properties ?? {}) as Record<string, JsonSchema>).map(
    ([name, property]) => ({
      name,
      in: 'query',
      required: false,
      schema: property,
    }),
  );

const idParameter = { name: 'id', in: 'path', required: true, schema: schema(SessionIdParam) };

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const jsonBody = (type: z.ZodMiniType) => ({
  required: true,
  content: { 'application/json': { schema: schema(type) } },
});

const session = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Session' } } },
});

const COMMON_ERRORS = {
  '400': error('the request is malformed; the message names the field'),
  '401': error('no valid token, or a fresh MFA sign-in is required'),
  '500': error('internal error; nothing internal is revealed'),
};

const ofSession = {
  ...COMMON_ERRORS,
  '404': error("no such session (also for someone else's session)"),
};

/** What every bastion connection view carries (lib/app/session-view.ts). */
const BASTION_PROPERTIES = {
  bastion: {
    type: 'object',
    properties: { host: { type: 'string' }, port: { type: 'integer' }, user: { type: 'string' } },
    required: ['host', 'port', 'user'],
  },
  hostKeyFingerprint: { type: 'string' },
  hostKey: { type: 'string', description: 'the host key Drawbridge issued the bastion: pin it' },
  knownHosts: { type: 'string', description: 'the known_hosts line pinning it' },
  knownHostsFile: { type: 'string', description: 'the file the printed lines read it from' },
  target: {
    type: 'object',
    properties: { host: { type: 'string' }, port: { type: 'integer' } },
    required: ['host', 'port'],
  },
  sshConfig: { type: 'string', description: 'a ~/.ssh/config snippet' },
};
const BASTION_REQUIRED = ['bastion', 'knownHostsFile', 'target', 'sshConfig'];

/**
 * GET /targets: each target's recording terms point at the session view's RecordingPolicy,
 * the one schema of the one shape both are built with (lib/domain/recording-terms.ts).
 */
function targetListSchema(): JsonSchema {
  const list = schema(TargetList) as {
    properties: { items: { items: { properties: JsonSchema; required: string[] } } };
  };
  const item = list.properties.items.items;
  item.properties.recordingPolicy = { $ref: '#/components/schemas/RecordingPolicy' };
  item.required = [...item.required, 'recordingPolicy'];
  return list;
}

export function buildOpenApi(version = '0.1.0') {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Drawbridge',
      version,
      description:
        'Ephemeral, identity- and address-bound bastions with four independent expiry layers.',
    },
    security: [{ jwt: [] }],
    paths: {
      '/sessions': {
        post: {
          summary: 'Request access to a target; the bastion is launched asynchronously',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: schema(IdempotencyKey),
            },
          ],
          requestBody: jsonBody(CreateSessionBody),
          responses: {
            '202': session('the session, REQUESTED (or PENDING_APPROVAL)'),
            ...COMMON_ERRORS,
            '403': error('your groups, address or break-glass membership do not allow this target'),
            '409': error('the Idempotency-Key was used with another body'),
            '413': error('the body is larger than 8 KB'),
            '415': error('the body is not application/json'),
            '429': error('quota of live sessions reached'),
            '503': error('provisioning could not be started; nothing was left behind'),
          },
        },
        get: {
          summary: 'Your sessions, newest first (admins: everyone, with filters)',
          parameters: queryParameters(ListSessionsQuery),
          responses: {
            '200': {
              description: 'a page of sessions',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      items: { type: 'array', items: { $ref: '#/components/schemas/Session' } },
                      cursor: { type: 'string' },
                    },
                    required: ['items'],
                  },
                },
              },
            },
            ...COMMON_ERRORS,
            '403': error("only admins may list other people's sessions"),
          },
        },
      },
      '/sessions/{id}': {
        parameters: [idParameter],
        get: {
          summary: 'Status and, once READY, how to connect',
          responses: { '200': session('the session'), ...ofSession },
        },
        delete: {
          summary: 'Revoke now (owner or admin)',
          responses: {
            '200': session('ENDED'),
            '202': session('ENDING: the reaper finishes the release'),
            ...ofSession,
          },
        },
      },
      '/sessions/{id}/events': {
        parameters: [idParameter],
        get: {
          summary: 'The hash-chained audit trail and the bastion connection log',
          responses: { '200': { description: 'events and connections' }, ...ofSession },
        },
      },
      '/sessions/{id}/audit': {
        parameters: [idParameter],
        get: {
          summary: 'Recompute the audit hash chain (and the recording chain of a recorded session)',
          responses: {
            '200': {
              description:
                'whether the trail is intact; `recording` (recorded sessions) gives the recording verdict: intact, or the first missing, altered, reordered or truncated chunk, or problem and ending `partial` when the recording is too long to read here whole (never intact then: its end was not checked), or `unsealed` when the session ended without storing the head its end is held to',
            },
            ...ofSession,
          },
        },
      },
      '/sessions/{id}/recording': {
        parameters: [
          idParameter,
          {
            name: 'format',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['asciicast', 'text'], default: 'asciicast' },
            description: 'asciicast v2, or plain text with UTC times (for grep)',
          },
        ],
        get: {
          summary:
            "Replay or export the session's recording (owner, admins, auditors); each call is an audit event",
          responses: {
            '200': {
              description:
                "the recorder's terminal recording (recording: full), Session Manager's output (ssm), or the connections and forwards (jump-only). Header drawbridge-recording: intact; the chain problem (malformed, foreign, altered, missing, reordered, truncated, unsealed: the session stored no head to hold its end to); or partial: the recording is too long to read in one request, so the body is only its beginning (checked as far as it goes) and its end was not checked.",
              content: {
                'application/x-asciicast': { schema: { type: 'string' } },
                'text/plain': { schema: { type: 'string' } },
              },
            },
            ...ofSession,
            '400': error('unknown format or query parameter'),
          },
        },
      },
      '/sessions/{id}/extend': {
        parameters: [idParameter],
        post: {
          summary: 'Extend the window within policy',
          requestBody: jsonBody(ExtendSessionBody),
          responses: {
            '200': session('the extended session'),
            ...ofSession,
            '409': error('not extendable now'),
          },
        },
      },
      '/sessions/{id}/approve': {
        parameters: [idParameter],
        post: {
          summary: 'Approve a pending request (approvers, never the requester)',
          requestBody: jsonBody(DecisionBody),
          responses: {
            '200': session('approved'),
            ...ofSession,
            '403': error('not an approver, or your own request'),
          },
        },
      },
      '/sessions/{id}/deny': {
        parameters: [idParameter],
        post: {
          summary: 'Deny a pending request',
          requestBody: jsonBody(DecisionBody),
          responses: { '200': session('denied'), ...ofSession, '403': error('not an approver') },
        },
      },
      '/sessions/{id}/credentials': {
        parameters: [idParameter],
        post: {
          summary: 'ssm mode: issue the temporary credentials for a READY session (never stored)',
          responses: {
            '200': { description: 'credentials and the aws ssm start-session commands' },
            ...ofSession,
            '409': error('not READY, or not an ssm session'),
          },
        },
      },
      '/targets': {
        get: {
          summary: 'The targets the caller may open, and on what terms',
          responses: {
            '200': {
              description:
                'targets: mode, durations, approval, MFA, break-glass, and recording terms (input, idle timeout)',
              content: { 'application/json': { schema: targetListSchema() } },
            },
            ...COMMON_ERRORS,
          },
        },
      },
      '/approvals': {
        get: {
          summary:
            "Pending requests the caller may approve or deny (an approver group of the target, never the caller's own)",
          description:
            'A page may hold fewer than `limit` items, even none, and still carry a cursor: follow it to read on.',
          parameters: queryParameters(ListApprovalsQuery),
          responses: {
            '200': { description: 'sessions waiting for the caller, newest first' },
            ...COMMON_ERRORS,
          },
        },
      },
      '/reviews': {
        get: {
          summary: 'Break-glass reviews (admins), open ones first',
          parameters: queryParameters(ListReviewsQuery),
          responses: {
            '200': { description: 'reviews' },
            ...COMMON_ERRORS,
            '403': error('admins only'),
          },
        },
      },
      '/reviews/{id}': {
        parameters: [idParameter],
        post: {
          summary: 'Close a review with a verdict',
          requestBody: jsonBody(ReviewBody),
          responses: {
            '200': { description: 'the closed review' },
            ...ofSession,
            '403': error('admins only'),
          },
        },
      },
      '/.well-known/drawbridge': {
        get: {
          summary:
            'Where to sign in: the identity provider and the public client ids of the CLI and the console (no token needed; nothing secret)',
          security: [],
          responses: {
            '200': {
              description: 'the sign-in settings',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['issuer', 'clientId', 'scopes'],
                    properties: {
                      issuer: { type: 'string', format: 'uri' },
                      clientId: { type: 'string', description: "the CLI's public client" },
                      consoleClientId: {
                        type: 'string',
                        description: "the console's public client, when the stage has one",
                      },
                      audience: { type: 'string' },
                      scopes: { type: 'array', items: { type: 'string' } },
                    },
                  },
                },
              },
            },
            '404': error(
              'this stage publishes no sign-in settings (pass --issuer and --client-id)',
            ),
          },
        },
      },
      '/usage': {
        get: {
          summary: 'Usage and cost report (admins and FinOps)',
          parameters: [
            {
              name: 'from',
              in: 'query',
              required: false,
              schema: { type: 'string', format: 'date-time' },
            },
            {
              name: 'to',
              in: 'query',
              required: false,
              schema: { type: 'string', format: 'date-time' },
            },
            {
              name: 'groupBy',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['user', 'target', 'team', 'day'] },
            },
            {
              name: 'format',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['json', 'csv'] },
            },
          ],
          responses: {
            '200': { description: 'the report, as JSON or CSV' },
            ...COMMON_ERRORS,
            '403': error('admins and the FinOps group only'),
          },
        },
      },
    },
    components: {
      securitySchemes: { jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: { code: { type: 'string' }, message: { type: 'string' } },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
        Session: {
          type: 'object',
          description: 'See lib/app/session-view.ts; times are ISO 8601.',
          properties: {
            id: { type: 'string' },
            status: {
              type: 'string',
              enum: [
                'REQUESTED',
                'PENDING_APPROVAL',
                'PROVISIONING',
                'READY',
                'ENDING',
                'ENDED',
                'FAILED',
              ],
            },
            target: { type: 'string' },
            expiresAt: { type: 'string', format: 'date-time' },
            recording: { type: 'string', enum: ['full', 'metadata', 'off'] },
            recordingPolicy: { $ref: '#/components/schemas/RecordingPolicy' },
            connection: {
              description:
                'Once READY (ec2 and local modes): how to reach the bastion. A recorded session (`recorded: true`) is a shell on the bastion, `sshShell`, and never a tunnel: it has no `sshJump` or `sshForward`.',
              oneOf: [
                { $ref: '#/components/schemas/TunnelConnection' },
                { $ref: '#/components/schemas/RecordedConnection' },
              ],
            },
            links: { type: 'object' },
          },
          required: ['id', 'status', 'target', 'links'],
        },
        RecordingPolicy: {
          type: 'object',
          description: "What the session's recording keeps",
          properties: {
            mode: {
              type: 'string',
              enum: ['full', 'metadata', 'off'],
              description:
                'full: the terminal (a shell on the bastion, never a tunnel); metadata: connections and forwards; off: the audit trail only',
            },
            input: {
              type: 'boolean',
              description: "keystrokes too (never those typed while the terminal's echo is off)",
            },
            idleTimeoutMinutes: {
              type: 'integer',
              description: 'no terminal activity this long closes the connection',
            },
            idleEndsSession: {
              type: 'boolean',
              description: 'that idle close ends the session too',
            },
          },
          required: ['mode', 'input'],
        },
        TunnelConnection: {
          type: 'object',
          properties: {
            ...BASTION_PROPERTIES,
            sshJump: { type: 'string', description: 'ssh -J through the bastion (SSH targets)' },
            sshForward: { type: 'string', description: 'ssh -N -L: a local port forward' },
          },
          required: [...BASTION_REQUIRED, 'sshJump', 'sshForward'],
        },
        RecordedConnection: {
          type: 'object',
          properties: {
            ...BASTION_PROPERTIES,
            recorded: { type: 'boolean', const: true },
            sshShell: {
              type: 'string',
              description:
                'ssh -tt to the bastion, host key pinned: the recorded shell; the target is reached from there',
            },
          },
          required: [...BASTION_REQUIRED, 'recorded', 'sshShell'],
        },
      },
    },
  };
}
