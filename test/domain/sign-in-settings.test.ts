import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/domain/errors.ts';
import { signInSettings } from '../../lib/domain/sign-in-settings.ts';

const base = { issuer: 'https://login.example.org/', clientId: 'cli-client' };

describe('signInSettings (what /.well-known/drawbridge publishes)', () => {
  it('publishes nothing without a CLI client id or an issuer', () => {
    expect(signInSettings({ issuer: base.issuer })).toBeUndefined();
    expect(signInSettings({ clientId: base.clientId })).toBeUndefined();
    expect(signInSettings({ ...base, clientId: '' })).toBeUndefined();
  });

  it("asks for 'openid offline_access' unless told otherwise", () => {
    expect(signInSettings(base)).toEqual({ ...base, scopes: ['openid', 'offline_access'] });
  });

  it.each([
    ['an http issuer', { issuer: 'http://login.example.org/' }],
    ['an issuer with credentials', { issuer: 'https://u:p@login.example.org/' }],
    ['an issuer with a query', { issuer: 'https://login.example.org/?x=1' }],
    ['an issuer with a fragment', { issuer: 'https://login.example.org/#x' }],
    ['not a URL', { issuer: 'login.example.org' }],
    ['a client id with a space', { clientId: 'a b' }],
    ['a console client id with a newline', { consoleClientId: 'a\nb' }],
    ['an audience with a space', { audience: 'x y' }],
    ['a scope with a quote', { scopes: 'openid a"b' }],
    ['no openid scope', { scopes: 'offline_access' }],
    ['only spaces for scopes', { scopes: '   ' }],
  ])('refuses %s', (_name, bad) => {
    expect(() => signInSettings({ ...base, ...bad })).toThrow(ConfigError);
  });

  it('property: any input is published only with values a provider issues, or refused', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('https://login.example.org/', 'openid offline_access', 'cli'),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            issuer: text,
            clientId: text,
            consoleClientId: text,
            audience: text,
            scopes: text,
          },
          { requiredKeys: [] },
        ),
        (input) => {
          let settings: ReturnType<typeof signInSettings>;
          try {
            settings = signInSettings(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            return;
          }
          if (!settings) {
            expect(!input.issuer || !input.clientId).toBe(true);
            return;
          }
          expect(new URL(settings.issuer).protocol).toBe('https:');
          for (const value of [settings.clientId, settings.consoleClientId, settings.audience]) {
            if (value !== undefined) expect(value).toMatch(/^[\x21-\x7e]+$/);
          }
          expect(settings.scopes).toContain('openid');
          for (const scope of settings.scopes) expect(scope).toMatch(/^[\x21\x23-\x5b\x5d-\x7e]+$/);
        },
      ),
    );
  });
});
