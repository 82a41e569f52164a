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
