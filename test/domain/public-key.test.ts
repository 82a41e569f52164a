import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/domain/errors.ts';
import {
  ACCEPTED_KEY_TYPES,
  MAX_PUBLIC_KEY_LENGTH,
  type PublicKeyType,
  parsePublicKey,
} from '../../lib/domain/public-key.ts';
import { rsaModulus, rsaPublicKeyLine } from '../support/keys.ts';

/** Real keys from ssh-keygen, keyed by a short name. */
const FIXTURES = {
  ed25519: ['-t', 'ed25519'],
  ecdsa256: ['-t', 'ecdsa', '-b', '256'],
  ecdsa384: ['-t', 'ecdsa', '-b', '384'],
  ecdsa521: ['-t', 'ecdsa', '-b', '521'],
  rsa3072: ['-t', 'rsa', '-b', '3072'],
  rsa4096: ['-t', 'rsa', '-b', '4096'],
  rsa2048: ['-t', 'rsa', '-b', '2048'],
} as const;
type Fixture = keyof typeof FIXTURES;

const lines = {} as Record<Fixture | 'ed25519b' | 'cert', string>;
let dir = '';

function keygen(name: string, args: readonly string[]): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', [...args, '-N', '', '-C', `${name}@laptop`, '-f', file, '-q']);
  return readFileSync(`${file}.pub`, 'utf8').trimEnd();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-keys-'));
  for (const [name, args] of Object.entries(FIXTURES)) lines[name as Fixture] = keygen(name, args);
  lines.ed25519b = keygen('ed25519b', ['-t', 'ed25519']);
  // a real OpenSSH user certificate, signed by a throwaway CA
  keygen('ca', ['-t', 'ed25519']);
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    join(dir, 'ca'),
    '-I',
    'alice',
    '-n',
    'alice',
    join(dir, 'ed25519.pub'),
  ]);
  lines.cert = readFileSync(join(dir, 'ed25519-cert.pub'), 'utf8').trimEnd();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const field = (line: string, index: number): string => line.split(' ')[index] ?? '';
const typeOf = (line: string): string => field(line, 0);
const base64Of = (line: string): string => field(line, 1);
const blobOf = (line: string): Buffer => Buffer.from(base64Of(line), 'base64');

/** SSH wire format: each field a uint32 length then the bytes. */
function wire(...fields: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    fields.flatMap((value) => {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  );
}

const reasonOf = (input: string): string => {
  try {
    parsePublicKey(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${input.slice(0, 80)}`);
};

describe('accepted key types (real ssh-keygen output)', () => {
  it.each([
    ['ed25519', 'ssh-ed25519', 256],
    ['ecdsa256', 'ecdsa-sha2-nistp256', 256],
    ['ecdsa384', 'ecdsa-sha2-nistp384', 384],
    ['ecdsa521', 'ecdsa-sha2-nistp521', 521],
    ['rsa3072', 'ssh-rsa', 3072],
    ['rsa4096', 'ssh-rsa', 4096],
  ] as const)('%s parses as %s (%d bits); normalized drops the comment', (name, type, bits) => {
    const line = lines[name];
    expect(line).toContain(`${name}@laptop`);
    const key = parsePublicKey(line);
    expect(key.type).toBe(type);
    expect(key.bits).toBe(bits);
    expect(key.blob).toBe(base64Of(line));
    expect(key.normalized).toBe(`${type} ${base64Of(line)}`);
    expect(key.normalized).not.toContain('laptop');
  });

  it('accepts a key without a comment, with a multi-word comment, and with surrounding spaces', () => {
    const bare = `${typeOf(lines.ed25519)} ${base64Of(lines.ed25519)}`;
    expect(parsePublicKey(bare).normalized).toBe(bare);
    expect(parsePublicKey(`${bare} Alice's work laptop (2026)`).normalized).toBe(bare);
    expect(parsePublicKey(`  ${bare}   x  `).normalized).toBe(bare);
  });

  it('accepts RSA keys built by node:crypto, in OpenSSH wire format', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const jwk = publicKey.export({ format: 'jwk' });
    const mpint = (b64url: string | undefined): Buffer => {
      const bytes = Buffer.from(b64url ?? '', 'base64url');
      return (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
    };
    const blob = wire('ssh-rsa', mpint(jwk.e), mpint(jwk.n)).toString('base64');
    expect(parsePublicKey(`ssh-rsa ${blob}`).bits).toBe(3072);
  });
});

describe('rejected keys', () => {
  it('RSA 2048 is refused with a message that asks for 3072 bits', () => {
    expect(reasonOf(lines.rsa2048)).toMatch(/2048.*3072/);
  });

  it.each([
    ['ed25519', 'ssh-rsa'],
    ['ed25519', 'ecdsa-sha2-nistp256'],
    ['rsa3072', 'ssh-ed25519'],
    ['ecdsa256', 'ecdsa-sha2-nistp384'],
    ['ecdsa384', 'ecdsa-sha2-nistp521'],
    ['ecdsa521', 'ssh-ed25519'],
  ] as const)('a %s blob labelled %s is refused as a type mismatch', (name, label) => {
    expect(reasonOf(`${label} ${base64Of(lines[name])}`)).toMatch(
      /says '.*' but the key inside is/,
    );
  });

  it('an ecdsa blob naming the wrong curve inside is refused', () => {
    const point = Buffer.concat([Buffer.from([4]), randomBytes(64)]);
    const blob = wire('ecdsa-sha2-nistp256', 'nistp384', point).toString('base64');
    expect(reasonOf(`ecdsa-sha2-nistp256 ${blob}`)).toMatch(/curve/);
  });

  it('an ecdsa point that is not on the curve is refused', () => {
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]);
    const blob = wire('ecdsa-sha2-nistp256', 'nistp256', point).toString('base64');
    expect(reasonOf(`ecdsa-sha2-nistp256 ${blob}`)).toMatch(/not a valid key/);
  });

  it('an ed25519 key of the wrong length is refused', () => {
    const blob = wire('ssh-ed25519', randomBytes(31)).toString('base64');
    expect(reasonOf(`ssh-ed25519 ${blob}`)).toMatch(/32-byte/);
  });

  it.each([
    ['command="/bin/sh" ', 'command'],
    ['restrict ', 'restrict'],
    ['from="*" ', 'from'],
    ['no-pty,permitopen="*:*" ', 'no-pty'],
    ['environment="LD_PRELOAD=/tmp/x" ', 'environment'],
    ['cert-authority ', 'cert-authority'],
  ])('an options prefix %j is refused', (prefix, word) => {
    expect(reasonOf(`${prefix}${lines.ed25519}`)).toMatch(
      new RegExp(`'${word}.*options are not allowed`),
    );
  });

  it.each([
    ['\n', 'LF'],
    ['\r', 'CR'],
    ['\0', 'NUL'],
    ['\r\n', 'CRLF'],
  ])('%j (%s) anywhere in the line is refused', (bad) => {
    const line = lines.ed25519;
    for (const at of [0, 5, 11, 12, 40, line.length - 3, line.length]) {
      expect(reasonOf(`${line.slice(0, at)}${bad}${line.slice(at)}`)).toMatch(/single line/);
    }
  });

  it('other control and non-ASCII characters are refused', () => {
    expect(reasonOf(`${lines.ed25519}\t`)).toMatch(/printable ASCII/);
    expect(reasonOf(`${lines.ed25519} café`)).toMatch(/printable ASCII/);
    expect(reasonOf(`${lines.ed25519}\u2028`)).toMatch(/printable ASCII/);
  });

  it('two keys on one line are refused', () => {
    expect(reasonOf(`${lines.ed25519} ${lines.ed25519b}`)).toMatch(/exactly one key/);
    // an RSA key in the comment also overruns the comment limit; refused either way
    expect(
      reasonOf(`${typeOf(lines.ed25519)} ${base64Of(lines.ed25519)} ${lines.rsa3072}`),
    ).toMatch(/exactly one key|comment is too long/);
    expect(
      reasonOf(`${lines.ecdsa256} ${typeOf(lines.ed25519)} ${base64Of(lines.ed25519)}`),
    ).toMatch(/exactly one key/);
  });

  it('a truncated blob is refused', () => {
    for (const name of ['ed25519', 'ecdsa256', 'rsa3072'] as const) {
      const blob = blobOf(lines[name]);
      for (const cut of [1, 2, 10, blob.length - 4, blob.length - 1]) {
        const truncated = blob.subarray(0, cut).toString('base64');
        expect(reasonOf(`${typeOf(lines[name])} ${truncated}`)).toMatch(/truncated|not/);
      }
    }
  });

  it('trailing data after the blob is refused', () => {
    for (const name of ['ed25519', 'ecdsa384', 'rsa3072'] as const) {
      for (const extra of [Buffer.from([0]), Buffer.from('AAAA'), wire('ssh-ed25519')]) {
        const blob = Buffer.concat([blobOf(lines[name]), extra]).toString('base64');
        expect(reasonOf(`${typeOf(lines[name])} ${blob}`)).toMatch(/trailing data/);
      }
    }
  });

  it('non-canonical base64 is refused (missing padding, non-zero pad bits, stray padding)', () => {
    const base64 = base64Of(lines.ecdsa256); // 104 bytes: ends in a single '='
    expect(base64.endsWith('=')).toBe(true);
    expect(base64.endsWith('==')).toBe(false);
    const type = typeOf(lines.ecdsa256);
    const stripped = base64.slice(0, -1);
    expect(reasonOf(`${type} ${stripped}`)).toMatch(/canonical/);
    // the character before '=' carries 2 unused bits; flipping them keeps the bytes the same
    const last = stripped.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const sloppy = alphabet[alphabet.indexOf(last) | 1] ?? 'B';
    expect(sloppy).not.toBe(last);
    expect(reasonOf(`${type} ${stripped.slice(0, -1)}${sloppy}=`)).toMatch(/canonical/);
    expect(reasonOf(`${typeOf(lines.ed25519)} ${base64Of(lines.ed25519)}==`)).toMatch(/canonical/);
  });

  it('base64url or other characters in the key data are refused', () => {
    const base64 = base64Of(lines.rsa3072);
    expect(base64).toMatch(/[+/]/);
    const urlSafe = base64.replaceAll('+', '-').replaceAll('/', '_');
    expect(reasonOf(`ssh-rsa ${urlSafe}`)).toMatch(/not base64/);
  });

  it('an oversize line is refused before anything else is looked at', () => {
    const padded = `${lines.ed25519} ${'x'.repeat(MAX_PUBLIC_KEY_LENGTH)}`;
    expect(reasonOf(padded)).toMatch(new RegExp(`longer than ${MAX_PUBLIC_KEY_LENGTH}`));
    expect(reasonOf(`${lines.ed25519} ${'c'.repeat(300)}`)).toMatch(/comment is too long/);
  });

  it.each([
    [
      'ssh-dss',
      () => wire('ssh-dss', randomBytes(129), randomBytes(21), randomBytes(128), randomBytes(128)),
    ],
    [
      'sk-ssh-ed25519@openssh.com',
      () => wire('sk-ssh-ed25519@openssh.com', randomBytes(32), 'ssh:'),
    ],
    [
      'sk-ecdsa-sha2-nistp256@openssh.com',
      () => wire('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', randomBytes(65), 'ssh:'),
    ],
    ['ecdsa-sha2-nistp224', () => wire('ecdsa-sha2-nistp224', 'nistp224', randomBytes(57))],
    ['rsa-sha2-512', () => wire('rsa-sha2-512', Buffer.from([1, 0, 1]), randomBytes(384))],
  ])('type %s is refused', (type, blob) => {
    expect(reasonOf(`${type} ${blob().toString('base64')} x@y`)).toMatch(/is not accepted/);
  });

  it('a real OpenSSH certificate (ssh-ed25519-cert-v01@openssh.com) is refused', () => {
    expect(typeOf(lines.cert)).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(reasonOf(lines.cert)).toMatch(/is not accepted/);
  });

  it.each(['', ' ', 'ssh-ed25519', 'ssh-ed25519 ', 'AAAAC3NzaC1lZDI1NTE5'])(
    '%j is refused',
    (text) => {
      expect(() => parsePublicKey(text)).toThrow(ValidationError);
    },
  );
});

describe('worthless keys that OpenSSH and node:crypto would accept', () => {
  const F4 = Buffer.from([1, 0, 1]);
  let n: Buffer = Buffer.alloc(0);
  beforeAll(() => {
    n = rsaModulus();
  });
  const evenModulus = (): Buffer => {
    const copy = Buffer.from(n);
    copy[copy.length - 1] = (copy.at(-1) ?? 0) & 0xfe;
    return copy;
  };

  it('a real 3072-bit modulus with e = 65537 is accepted (the baseline)', () => {
    expect(parsePublicKey(rsaPublicKeyLine(F4, n)).bits).toBe(3072);
  });

  it.each([
    [
      'e = 1 (the public key is its own private key)',
      () => Buffer.from([1]),
      /exponent 1; at least 65537/,
    ],
    ['e = 3', () => Buffer.from([3]), /exponent 3; at least 65537/],
    ['e = 0', () => Buffer.from([0]), /exponent 0;/],
    ['an even e', () => Buffer.from([1, 0, 2]), /even RSA public exponent/],
    [
      'an absurdly long e',
      () => Buffer.concat([Buffer.from([1]), Buffer.alloc(40, 0xff)]),
      /over 256 bits/,
    ],
  ])('RSA with %s is refused', (_name, exponent, why) => {
    expect(reasonOf(rsaPublicKeyLine(exponent(), n))).toMatch(why);
  });

  it('RSA with an even modulus is refused', () => {
    expect(reasonOf(rsaPublicKeyLine(F4, evenModulus()))).toMatch(/even RSA modulus/);
  });

  it('RSA with a modulus divisible by a small prime is refused', () => {
    // n' = 3 * 5 * ... replaces the real modulus with one having the factor 1999
    const product = BigInt(`0x${n.toString('hex')}`) / 1999n;
    const withFactor = (product - (product % 2n === 0n ? 1n : 0n)) * 1999n;
    const bytes = Buffer.from(withFactor.toString(16).padStart(768, '0'), 'hex');
    expect(reasonOf(rsaPublicKeyLine(F4, bytes))).toMatch(/small factor/);
  });

  it('RSA with a negative mpint (high bit set, no sign byte) is refused', () => {
    const blob = wire('ssh-rsa', F4, n).toString('base64');
    expect(reasonOf(`ssh-rsa ${blob}`)).toMatch(/negative/);
  });

  // The eight points of small order, as listed by libsodium's ed25519 blocklist.
  it.each([
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  ])('ed25519 key %s (small order: verifies forged signatures) is refused', (hex) => {
    const blob = wire('ssh-ed25519', Buffer.from(hex, 'hex')).toString('base64');
    expect(reasonOf(`ssh-ed25519 ${blob}`)).toMatch(/small order/);
  });

  it('an ed25519 key that is not on the curve is refused (y = 2 has no x)', () => {
    const key = Buffer.alloc(32);
    key[0] = 2;
    expect(reasonOf(`ssh-ed25519 ${wire('ssh-ed25519', key).toString('base64')}`)).toMatch(
      /not a point on the ed25519 curve/,
    );
  });

  it('a non-canonical ed25519 encoding (y >= p) is refused', () => {
    const key = Buffer.alloc(32, 0xff);
    key[0] = 0xed; // y = 2^255 - 19 = p
    key[31] = 0x7f;
    expect(reasonOf(`ssh-ed25519 ${wire('ssh-ed25519', key).toString('base64')}`)).toMatch(
      /canonical/,
    );
  });
});

describe('property: only valid keys are accepted', () => {
  it('RSA: accepted only with an odd e >= 65537 and an odd modulus without small factors', () => {
    const n = rsaModulus();
    const exponentArb = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 5 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(Buffer.from([1]), Buffer.from([3]), Buffer.from([1, 0, 1])),
    );
    const modulusArb = fc.oneof(
      fc.constant(n),
      fc.nat({ max: 255 }).map((last) => Buffer.concat([n.subarray(0, -1), Buffer.from([last])])),
    );
    fc.assert(
      fc.property(exponentArb, modulusArb, (e, modulus) => {
        const exponent = BigInt(`0x${e.toString('hex')}`);
        const odd = (modulus.at(-1) ?? 0) % 2 === 1;
        const accepted = expectSafe(rsaPublicKeyLine(e, modulus));
        if (accepted) {
          expect(exponent % 2n).toBe(1n);
          expect(exponent >= 65537n).toBe(true);
          expect(odd).toBe(true);
        }
        if (modulus === n && exponent >= 65537n && exponent % 2n === 1n)
          expect(accepted).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('ed25519: every real key from node:crypto is accepted', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const { publicKey } = generateKeyPairSync('ed25519');
        const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
        expect(expectSafe(`ssh-ed25519 ${wire('ssh-ed25519', raw).toString('base64')}`)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('ecdsa: a real key with one coordinate byte changed is refused (off the curve)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('ecdsa256', 'ecdsa384', 'ecdsa521'),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (name, position, flip) => {
          const blob = Buffer.from(blobOf(lines[name as Fixture]));
          const pointStart =
            blob.length - (name === 'ecdsa256' ? 64 : name === 'ecdsa384' ? 96 : 132);
          const at = pointStart + (position % (blob.length - pointStart));
          blob[at] = (blob[at] ?? 0) ^ flip;
          expect(expectSafe(`${typeOf(lines[name as Fixture])} ${blob.toString('base64')}`)).toBe(
            false,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

const NORMALIZED = /^[a-z0-9-]+ [A-Za-z0-9+/]+=*$/;

/** Either a ValidationError, or a key whose normalized form is safe to write into authorized_keys. */
function expectSafe(input: string): boolean {
  try {
    const key = parsePublicKey(input);
    expect(key.normalized).toMatch(NORMALIZED);
    expect(ACCEPTED_KEY_TYPES).toContain(key.type);
    expect(key.normalized).toBe(`${key.type} ${key.blob}`);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return false;
  }
}

describe('property: parsePublicKey is total over strings', () => {
  it('arbitrary strings: ValidationError or a safely normalized key, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (text) => {
          expectSafe(text);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('accepted type followed by random bytes, or by a random wire structure', () => {
    const typeArb = fc.constantFrom<PublicKeyType>(...ACCEPTED_KEY_TYPES);
    const fieldArb = fc.oneof(
      fc.uint8Array({ maxLength: 140 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom('nistp256', 'nistp384', 'nistp521', 'ssh-ed25519', 'ssh-rsa'),
    );
    const blobArb = fc.oneof(
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
      fc
        .tuple(typeArb, fc.array(fieldArb, { maxLength: 4 }))
        .map(([inner, fields]) => wire(inner, ...fields)),
      fc
        .tuple(
          fc.uint8Array({ minLength: 1, maxLength: 4 }),
          fc.uint8Array({ minLength: 300, maxLength: 700 }),
        )
        .map(([e, n]) =>
          wire('ssh-rsa', Buffer.from(e), Buffer.concat([Buffer.from([0]), Buffer.from(n)])),
        ),
      fc
        .uint8Array({ minLength: 32, maxLength: 32 })
        .map((key) => wire('ssh-ed25519', Buffer.from(key))),
    );
    let accepted = 0;
    fc.assert(
      fc.property(typeArb, blobArb, (type, blob) => {
        if (expectSafe(`${type} ${blob.toString('base64')}`)) accepted += 1;
      }),
      { numRuns: 3000 },
    );
    // random 32-byte ed25519 keys are valid, so some of these inputs must have been accepted
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('property: a valid line, tampered with, is never accepted', () => {
  const names: Fixture[] = ['ed25519', 'ecdsa256', 'ecdsa384', 'ecdsa521', 'rsa3072'];
  const nameArb = fc.constantFrom(...names);

  it('a newline, CR or NUL inserted at any position', () => {
    fc.assert(
      fc.property(
        nameArb,
        fc.nat(),
        fc.constantFrom('\n', '\r', '\0', '\r\n'),
        (name, position, bad) => {
          const line = lines[name];
          const at = position % (line.length + 1);
          expect(expectSafe(`${line.slice(0, at)}${bad}${line.slice(at)}`)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('any option-like token in front', () => {
    const word = fc.stringMatching(/^[a-z][a-z-]{0,20}$/);
    const quoted = fc.string({ maxLength: 30 }).map((value) => `"${value.replaceAll('"', '\\"')}"`);
    const option = fc.oneof(
      fc.constantFrom(
        'restrict',
        'no-pty',
        'no-agent-forwarding',
        'no-port-forwarding',
        'no-X11-forwarding',
        'no-user-rc',
        'cert-authority',
        'pty',
        'port-forwarding',
      ),
      fc
        .tuple(
          fc.constantFrom(
            'command',
            'from',
            'environment',
            'permitopen',
            'permitlisten',
            'principals',
            'expiry-time',
            'tunnel',
          ),
          quoted,
        )
        .map(([key, value]) => `${key}=${value}`),
      word,
      fc.tuple(word, quoted).map(([key, value]) => `${key}=${value}`),
    );
    const options = fc.array(option, { minLength: 1, maxLength: 3 }).map((list) => list.join(','));
    fc.assert(
      fc.property(nameArb, options, fc.constantFrom(' ', '  '), (name, prefix, gap) => {
        fc.pre(!(ACCEPTED_KEY_TYPES as readonly string[]).includes(prefix));
        expect(expectSafe(`${prefix}${gap}${lines[name]}`)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('a second valid key appended', () => {
    const all: (Fixture | 'ed25519b')[] = [...names, 'ed25519b'];
    fc.assert(
      fc.property(
        nameArb,
        fc.constantFrom(...all),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(' ', '   '),
        (first, second, keepComment, secondComment, gap) => {
          const head = keepComment
            ? lines[first]
            : `${typeOf(lines[first])} ${base64Of(lines[first])}`;
          const tail = secondComment
            ? lines[second]
            : `${typeOf(lines[second])} ${base64Of(lines[second])}`;
          expect(expectSafe(`${head}${gap}${tail}`)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
