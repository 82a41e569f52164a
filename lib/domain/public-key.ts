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

/** Strips the sign byte OpenSSH puts in front of an mpint with its high bit set. */
const unsigned = (mpint: Buffer): Buffer => {
  let start = 0;
  while (start < mpint.length - 1 && mpint[start] === 0) start += 1;
  return mpint.subarray(start);
};

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
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(key) }, format: 'jwk' });
      return 256;
    }
    if (type === 'ssh-rsa') {
      const e = unsigned(reader.string());
      const n = unsigned(reader.string());
      reader.end();
      const bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
      if (bits < MIN_RSA_BITS)
        reject(`is a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`);
      if (bits > MAX_RSA_BITS)
        reject(`is a ${bits}-bit RSA key; at most ${MAX_RSA_BITS} bits are accepted`);
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
