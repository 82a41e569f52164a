/**
 * A user agent without a browser for local mode's sign-in pages: it follows redirects, keeps
 * cookies, and fills the forms a person would (user code, password, one-time code, device
 * confirmation). `drawbridge login --local` and the tests use it as "the browser": it talks
 * to the OpenID Provider exactly as a browser does and goes around nothing.
 */
export interface ScriptedCredentials {
  username: string;
  password: string;
  /** the one-time code; absent = the person skips the second factor */
  otp?: string;
  /** the device flow's user code, typed in when the page asks for it */
  userCode?: string;
}

const MAX_STEPS = 20;

interface Form {
  action: string;
  fields: Map<string, string>;
  names: Set<string>;
}

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*"([^"]*)"/g)) {
    if (match[1] && match[2] !== undefined) found.set(match[1].toLowerCase(), match[2]);
  }
  return found;
}

const decodeEntities = (text: string): string =>
  text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function firstForm(html: string): Form | undefined {
  const match = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const action = attributes(match[1]).get('action');
  if (!action) return undefined;
  const fields = new Map<string, string>();
  const names = new Set<string>();
  for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
    const attrs = attributes(input[1] ?? '');
    const name = attrs.get('name');
    if (!name) continue;
    names.add(name);
    if (attrs.get('type') === 'hidden') fields.set(name, decodeEntities(attrs.get('value') ?? ''));
  }
  return { action: decodeEntities(action), fields, names };
}

function fill(form: Form, credentials: ScriptedCredentials): URLSearchParams {
  const body = new URLSearchParams([...form.fields]);
  if (form.names.has('username')) {
    body.set('username', credentials.username);
    body.set('password', credentials.password);
  } else if (form.names.has('otp')) {
    if (credentials.otp === undefined) body.set('action', 'skip');
    else {
      body.set('otp', credentials.otp);
      body.set('action', 'verify');
    }
  } else if (form.names.has('user_code') && !form.fields.has('user_code')) {
    if (!credentials.userCode) throw new Error('the page asks for a user code and none was given');
    body.set('user_code', credentials.userCode);
  }
  return body;
}

/**
 * Opens `startUrl` and signs in. Resolves when the flow leaves the provider (a redirect to
 * another origin, which is followed once: the CLI's loopback listener) or shows a page with no
 * form (the device flow's "signed in" page), or reaches a URL starting with `stopAt` (not
 * fetched); returns the last URL. Rejects with the page's error when a step fails.
 */
export async function scriptedSignIn(
  startUrl: string,
  credentials: ScriptedCredentials,
  options: { fetch?: typeof fetch; stopAt?: string } = {},
): Promise<string | undefined> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const origin = new URL(startUrl).origin;
  const cookies = new Map<string, string>();
  let url = startUrl;
  let method = 'GET';
  let body: URLSearchParams | undefined;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const target = new URL(url);
    if (options.stopAt && url.startsWith(options.stopAt)) return url;
    const leaving = target.origin !== origin;
    const response = await fetchFn(target, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookies.size > 0 && !leaving
          ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
          : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body: body.toString() } : {}),
    });
    if (leaving) {
      await response.arrayBuffer();
      return url;
    }
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) {
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.arrayBuffer();
      url = new URL(location, target).href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await response.text();
    const shown = /<p class="error">/.test(html);
    if (response.status >= 400 || shown) {
      const message = /<p class="error">([^<]*)<\/p>/.exec(html)?.[1];
      const oidcError = /<pre>([\s\S]*?)<\/pre>/.exec(html)?.[1];
      throw new Error(
        `sign-in failed (${response.status}): ${decodeEntities(message ?? oidcError ?? 'the provider refused it').trim()}`,
      );
    }
    const form = firstForm(html);
    if (!form) return url;
    url = new URL(form.action, target).href;
    method = 'POST';
    body = fill(form, credentials);
  }
  throw new Error('sign-in did not finish: too many steps');
}
