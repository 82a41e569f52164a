import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_USERS_FILE } from '../../lib/local/local-orchestrator.ts';
import { signInLocally } from '../../lib/local/local-sign-in.ts';
import { type LocalUser, parseLocalUsers } from '../../lib/local/local-users.ts';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `drawbridge-${prefix}-`));
}

/** A local-mode policy whose demo target is the given port; dev may open it, admins see all. */
export async function writeLocalPolicy(
  dir: string,
  targetPort: number,
  quota = 5,
): Promise<string> {
  const file = join(dir, 'policy.yaml');
  await writeFile(
    file,
    `version: 1
adminGroup: drawbridge-admins
quota:
  activeSessionsPerUser: ${quota}
provisioningDeadlineMinutes: 2
selfDestructGraceMinutes: 1
targets:
  - name: demo
    mode: local
    host: 127.0.0.1
    port: ${targetPort}
    allowedGroups: [dev]
    defaultDurationMinutes: 10
    maxDurationMinutes: 60
`,
  );
  return file;
}

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
}

/** A small client for the local API, as curl would be. */
export function apiClient(url: string, token: string) {
  const call = async (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return {
    call,
    open: (publicKey: string, durationMinutes = 10) =>
      call('POST', '/sessions', {
        target: 'demo',
        durationMinutes,
        reason: 'end-to-end test',
        publicKey,
      }),
    get: (id: string) => call('GET', `/sessions/${id}`),
    end: (id: string) => call('DELETE', `/sessions/${id}`),
    events: (id: string) => call('GET', `/sessions/${id}/events`),
    /** polls until the session leaves REQUESTED/PROVISIONING */
    async settle(id: string): Promise<ApiResponse> {
      for (;;) {
        const response = await call('GET', `/sessions/${id}`);
        const status = String(response.body.status);
        if (status !== 'REQUESTED' && status !== 'PROVISIONING') return response;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    /** polls until the session reaches one of the statuses */
    async waitFor(id: string, statuses: string[], timeoutMs = 90_000): Promise<ApiResponse> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = await call('GET', `/sessions/${id}`);
        if (statuses.includes(String(response.body.status))) return response;
        if (Date.now() > deadline)
          throw new Error(`session ${id} stayed ${String(response.body.status)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

export interface ConnectionInfo {
  bastion: { host: string; port: number; user: string };
}

/**
 * An API access token for a demo user of policy/local-users.yaml, obtained from the local
 * OpenID Provider that the API at `url` announces (/.well-known/drawbridge): authorization
 * code with PKCE, the login form filled by a scripted user agent. Works against `npm start`
 * in another process as well as an in-process orchestrator.
 */
export async function signInThroughApi(
  url: string,
  username: string,
  options: { mfa?: boolean; users?: readonly LocalUser[] } = {},
): Promise<string> {
  const settings = (await (await fetch(`${url}/.well-known/drawbridge`)).json()) as {
    issuer: string;
    clientId: string;
    audience: string;
    scopes: string[];
  };
  const users =
    options.users ?? parseLocalUsers(await readFile(DEFAULT_USERS_FILE, 'utf8'), 'users');
  const user = users.find((candidate) => candidate.name === username);
  if (!user) throw new Error(`no demo user ${username}`);
  const tokens = await signInLocally({ ...settings, user, mfa: options.mfa === true });
  return tokens.access_token;
}
