// What a stage publishes at /.well-known/drawbridge: where the CLI and the console sign in.
// Local mode publishes its own OpenID Provider; a deployed stage publishes the identity
// provider and client ids its deployer gave (serverless.yml params), so `drawbridge login
// --api URL` and the console need nothing else. Public by nature: it names a provider and
// public clients, no secret.
import { ConfigError } from './errors.ts';

export interface SignInSettings {
  issuer: string;
  /** the CLI's public client (loopback redirect, PKCE) */
  clientId: string;
  /** the console's public browser client (redirect: the console's own `/`) */
  consoleClientId?: string;
  /** what the API's tokens carry as aud (informational: the provider decides) */
  audience?: string;
  scopes: string[];
}

export interface SignInInput {
  issuer?: string;
  clientId?: string;
  consoleClientId?: string;
  audience?: string;
  /** space-separated, as OAuth writes scopes */
  scopes?: string;
}

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
/** A client id or audience: printable ASCII without space, as every provider issues them. */
const IDENTIFIER = /^[\x21-\x7e]{1,255}$/;
const DEFAULT_SCOPES = 'openid offline_access';

const invalid = (what: string): never => {
  throw new ConfigError(`the stage's sign-in settings are invalid: ${what}`);
};

/**
 * The published settings, or undefined when the stage names no CLI client (it then publishes
 * nothing and the CLI asks for --issuer and --client-id). Every value is checked: a deployed
 * issuer is an https URL without credentials, query or fragment (OpenID Connect Discovery).
 */
export function signInSettings(input: SignInInput): SignInSettings | undefined {
  if (!input.clientId || !input.issuer) return undefined;
  const issuer = URL.parse(input.issuer);
  if (
    issuer?.protocol !== 'https:' ||
    issuer.username ||
    issuer.password ||
    issuer.search ||
    issuer.hash
  ) {
    invalid('the issuer must be an https URL without credentials, query or fragment');
  }
  if (!IDENTIFIER.test(input.clientId)) invalid('the CLI client id');
  if (input.consoleClientId !== undefined && !IDENTIFIER.test(input.consoleClientId)) {
    invalid('the console client id');
  }
  if (input.audience !== undefined && !IDENTIFIER.test(input.audience)) invalid('the audience');
  const scopes = (input.scopes ?? DEFAULT_SCOPES).split(' ').filter((scope) => scope !== '');
  if (scopes.length === 0 || scopes.length > 20 || !scopes.every((scope) => SCOPE.test(scope))) {
    invalid('the scopes (space-separated OAuth scope tokens)');
  }
  if (!scopes.includes('openid')) invalid("the scopes must include 'openid'");
  return {
    issuer: input.issuer,
    clientId: input.clientId,
    ...(input.consoleClientId ? { consoleClientId: input.consoleClientId } : {}),
    ...(input.audience ? { audience: input.audience } : {}),
    scopes,
  };
}
