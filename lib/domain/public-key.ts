import { createPublicKey } from 'node:crypto';
import { ValidationError } from './errors.ts';

export const ACCEPTED_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type PublicKeyType = (typeof ACCEPTED_KEY_TYPES)[number];

export const MAX_PUBLIC_KEY_LENGTH = 4096;
export const MIN_RSA_BITS = 3072;
const MAX_RSA_BITS = 16384;
const MAX_COMMENT_LENGTH = 200;

export interface PublicKey {
  type: PublicKeyType;
  /** canonical base64 of the key blob */
  blob: string;
  /** `type base64`, with the caller's comment dropped: this is all that reaches the bastion */
  normalized: string;
  bits: number;
}

const reject = (why: string): never => {
  throw new ValidationError(`publicKey ${why}`);
};

/** Reads SSH wire-format strings (uint32 length + bytes) and insists the blob is consumed exactly. */
class WireReader {
  private offset = 0;
  private readonly buffer: Buffer;
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }
  string(): Buffer {
    if (this.offset + 4 > this.buffer.length) reject('is truncated');
    const length = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    if (length > this.buffer.length - this.offset) reject('is truncated');
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
  end(): void {
    if (this.offset !== this.buffer.length) reject('has trailing data after the key');
  }
}

const CURVES = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', crv: 'P-256', size: 32, bits: 256 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', crv: 'P-384', size: 48, bits: 384 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', crv: 'P-521', size: 66, bits: 521 },
} as const;

const b64url = (bytes: Buffer): string => bytes.toString('base64url');

/**
 * Strips the sign byte OpenSSH puts in front of an mpint with its high bit set. A set high
 * bit without that byte is a negative number, which no RSA key has.
 */
const unsigned = (mpint: Buffer, what: string): Buffer => {
  if (mpint.length === 0 || ((mpint[0] ?? 0) & 0x80) !== 0)
    reject(`has a zero or negative RSA ${what}`);
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) start += 1;
  return mpint.subarray(start);
};

const toBigInt = (bytes: Buffer): bigint =>
  bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);

export const MIN_RSA_EXPONENT = 65537n;
/** Larger public exponents buy nothing and make every signature check slower. */
const MAX_RSA_EXPONENT_BITS = 256;
/** The product of the odd primes below 2000: a modulus sharing one of them is not a product of two large primes. */
const SMALL_PRIMES_PRODUCT = (() => {
  let product = 1n;
  for (let candidate = 3; candidate < 2000; candidate += 2) {
    let prime = true;
    for (let divisor = 3; divisor * divisor <= candidate; divisor += 2) {
      if (candidate % divisor === 0) {
        prime = false;
        break;
      }
    }
    if (prime) product *= BigInt(candidate);
  }
  return product;
})();

const gcd = (a: bigint, b: bigint): bigint => {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
};

/**
 * Refuses RSA parameters that make the key worthless: with e = 1 the public key is its own
 * private key, an even e has no inverse, and an even modulus (or one with a small factor) is
 * trivially factored. OpenSSH and node:crypto accept all of these.
 */
function checkRsa(e: Buffer, n: Buffer): void {
  const exponent = toBigInt(e);
  const modulus = toBigInt(n);
  if (exponent < MIN_RSA_EXPONENT)
    reject(`has RSA public exponent ${exponent}; at least ${MIN_RSA_EXPONENT} is required`);
  if (e.length * 8 > MAX_RSA_EXPONENT_BITS)
    reject(`has an RSA public exponent over ${MAX_RSA_EXPONENT_BITS} bits`);
  if (exponent % 2n === 0n) reject('has an even RSA public exponent');
  if (modulus % 2n === 0n) reject('has an even RSA modulus');
  if (gcd(modulus, SMALL_PRIMES_PRODUCT) !== 1n) reject('has an RSA modulus with a small factor');
}

// Ed25519 (RFC 8032 §5.1.3): the curve -x² + y² = 1 + d·x²·y² over GF(2^255 - 19).
const ED_P = 2n ** 255n - 19n;
const modP = (value: bigint): bigint => ((value % ED_P) + ED_P) % ED_P;
const powP = (base: bigint, exponent: bigint): bigint => {
  let result = 1n;
  let b = modP(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % ED_P;
    b = (b * b) % ED_P;
    e >>= 1n;
  }
  return result;
};
const invP = (value: bigint): bigint => powP(value, ED_P - 2n);
const ED_D = modP(-121665n * invP(121666n));
const SQRT_M1 = powP(2n, (ED_P - 1n) / 4n);

type EdPoint = { x: bigint; y: bigint };
const edAdd = (a: EdPoint, b: EdPoint): EdPoint => {
  const t = modP(ED_D * a.x * b.x * a.y * b.y);
  return {
    x: modP((a.x * b.y + a.y * b.x) * invP(1n + t)),
    y: modP((a.y * b.y + a.x * b.x) * invP(1n - t)),
  };
};

/**
 * Decodes an Ed25519 public key the way RFC 8032 does, which node:crypto does not: the
 * encoding must be canonical and on the curve, and the point must not be of small order
 * (a small-order key verifies signatures nobody made).
 */
function checkEd25519(key: Buffer): void {
  const bytes = Buffer.from(key);
  const sign = ((bytes[31] ?? 0) & 0x80) !== 0;
  bytes[31] = (bytes[31] ?? 0) & 0x7f;
  const y = toBigInt(Buffer.from(bytes).reverse());
  if (y >= ED_P) reject('is not a canonical ed25519 point');
  const y2 = modP(y * y);
  const x2 = modP((y2 - 1n) * invP(ED_D * y2 + 1n));
  let x = powP(x2, (ED_P + 3n) / 8n);
  if (modP(x * x) !== x2) x = modP(x * SQRT_M1);
  if (modP(x * x) !== x2) reject('is not a point on the ed25519 curve');
  if (x === 0n && sign) reject('is not a canonical ed25519 point');
  let point: EdPoint = { x: ((x & 1n) === 1n) === sign ? x : modP(-x), y };
  for (let doubling = 0; doubling < 3; doubling += 1) point = edAdd(point, point);
  if (point.x === 0n) reject('is an ed25519 point of small order');
}

function inspectBlob(type: PublicKeyType, blob: Buffer): number {
  const reader = new WireReader(blob);
  const innerType = reader.string().toString('latin1');
  if (innerType !== type)
    reject(`says '${type}' but the key inside is '${innerType.slice(0, 40)}'`);

  try {
    if (type === 'ssh-ed25519') {
      const key = reader.string();
      reader.end();
      if (key.length !== 32) reject('is not a 32-byte ed25519 key');
      checkEd25519(key);
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(key) }, format: 'jwk' });
      return 256;
    }
    if (type === 'ssh-rsa') {
      const e = unsigned(reader.string(), 'exponent');
      const n = unsigned(reader.string(), 'modulus');
      reader.end();
      const bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
      if (bits < MIN_RSA_BITS)
        reject(`is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
      if (bits > MAX_RSA_BITS)
        reject(`is a ${bits}-bit RSA key; at most ${MAX_RSA_BITS} bits are accepted`);
      checkRsa(e, n);
      createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
      return bits;
    }
    const curve = CURVES[type];
    const curveName = reader.string().toString('latin1');
    const point = reader.string();
    reader.end();
    if (curveName !== curve.name)
      reject(`names curve '${curveName.slice(0, 20)}' but its type is ${type}`);
    if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04)
      reject('is not an uncompressed curve point');
    createPublicKey({
      key: {
        kty: 'EC',
        crv: curve.crv,
        x: b64url(point.subarray(1, 1 + curve.size)),
        y: b64url(point.subarray(1 + curve.size)),
      },
      format: 'jwk',
    });
    return curve.bits;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    return reject('is not a valid key of its type');
  }
}

/**
 * Accepts exactly one public key in `type base64 [comment]` form. No options (the server
 * writes those), no line breaks or NUL, no second key, nothing oversize, and the type in
 * front must match the type inside the blob.
 */
export function parsePublicKey(input: string): PublicKey {
  if (input.length > MAX_PUBLIC_KEY_LENGTH)
    reject(`is longer than ${MAX_PUBLIC_KEY_LENGTH} characters`);
  if (/[\r\n\0]/.test(input)) reject('must be a single line (no CR, LF or NUL)');
  // Anything outside printable ASCII and space would only ever be smuggling.
  if (/[^\x20-\x7e]/.test(input)) reject('may contain only printable ASCII characters');
  const parts = input.trim().split(/ +/);
  const [type, base64, ...commentParts] = parts;
  if (!type || !base64) reject("must look like 'ssh-ed25519 AAAA... comment'");
  if (!(ACCEPTED_KEY_TYPES as readonly string[]).includes(type as string)) {
    reject(
      `type '${(type as string).slice(0, 40)}' is not accepted; use one of ${ACCEPTED_KEY_TYPES.join(', ')} (options are not allowed)`,
    );
  }
  const comment = commentParts.join(' ');
  if (comment.length > MAX_COMMENT_LENGTH) reject('comment is too long');
  if (ACCEPTED_KEY_TYPES.some((known) => comment.includes(known)))
    reject('must contain exactly one key');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64 as string)) reject('key data is not base64');
  const blob = Buffer.from(base64 as string, 'base64');
  if (blob.toString('base64') !== base64) reject('key data is not canonical base64');
  const keyType = type as PublicKeyType;
  const bits = inspectBlob(keyType, blob);
  return { type: keyType, blob: base64 as string, normalized: `${keyType} ${base64}`, bits };
}
