import { generateKeyPairSync } from 'node:crypto';

const wireString = (bytes: Buffer): Buffer => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/** A fresh, real ed25519 public key in authorized_keys form. */
export function ed25519PublicKey(comment = 'alice@laptop'): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(String(jwk.x), 'base64url');
  const blob = Buffer.concat([wireString(Buffer.from('ssh-ed25519')), wireString(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

const mpint = (bytes: Buffer): Buffer =>
  (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;

/**
 * An `ssh-rsa` line built from raw exponent and modulus bytes (big-endian, unsigned), so tests
 * can make keys that OpenSSH and node:crypto accept but that are worthless (e = 1, even n).
 */
export function rsaPublicKeyLine(e: Buffer, n: Buffer): string {
  const blob = Buffer.concat([
    wireString(Buffer.from('ssh-rsa')),
    wireString(mpint(e)),
    wireString(mpint(n)),
  ]);
  return `ssh-rsa ${blob.toString('base64')} mallory@laptop`;
}

/** The modulus of a fresh real 3072-bit RSA key. */
export function rsaModulus(bits = 3072): Buffer {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return Buffer.from(String(publicKey.export({ format: 'jwk' }).n), 'base64url');
}
