import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

/** The public half of a bastion's host key, as Drawbridge issued it. */
export interface HostKey {
  /** `ssh-ed25519 AAAA…`, no comment: what known_hosts needs after the host name */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it */
  fingerprint: string;
}

/**
 * A host key with its private half. The private half goes only where the bastion reads it
 * (the ec2 user data, the local sshd's own directory) and never into the table, the audit
 * trail or a log.
 */
export interface IssuedHostKey extends HostKey {
  /** unencrypted `-----BEGIN OPENSSH PRIVATE KEY-----` text, as ssh-keygen writes it */
  privateKey: string;
}

const wireString = (value: Buffer | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

const uint32 = (value: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
};

/** SHA256:… exactly as `ssh-keygen -l` prints it: base64 of the blob's digest, unpadded. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error('not an OpenSSH public key');
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/**
 * A fresh ed25519 host key. Node exports ed25519 keys only as PKCS#8/SPKI (or JWK), and not
 * every OpenSSH build reads an ed25519 PKCS#8 PEM; the OpenSSH format (PROTOCOL.key, no cipher)
 * is read by every sshd since 6.5, so it is written here from the raw seed and public key.
 */
export function issueHostKey(): IssuedHostKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new Error('node did not export the ed25519 key material');
  }
  const seed = Buffer.from(jwk.d, 'base64url');
  const raw = Buffer.from(jwk.x, 'base64url');
  const blob = Buffer.concat([wireString('ssh-ed25519'), wireString(raw)]);
  const check = randomBytes(4).readUInt32BE();
  let secret = Buffer.concat([
    uint32(check),
    uint32(check),
    wireString('ssh-ed25519'),
    wireString(raw),
    wireString(Buffer.concat([seed, raw])),
    wireString('drawbridge'),
  ]);
  // Padded with 1, 2, 3, … to the cipher's block size, 8 for "none".
  const padding = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    wireString('none'),
    wireString('none'),
    wireString(''),
    uint32(1),
    wireString(blob),
    wireString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  const publicKey = `ssh-ed25519 ${blob.toString('base64')}`;
  return {
    publicKey,
    fingerprint: sshFingerprint(publicKey),
    privateKey: [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      ...lines,
      '-----END OPENSSH PRIVATE KEY-----',
      '',
    ].join('\n'),
  };
}

/** The public half only: what the session keeps. */
export const publicHalf = (key: HostKey): HostKey => ({
  publicKey: key.publicKey,
  fingerprint: key.fingerprint,
});

/** `host` for port 22, `[host]:port` otherwise: the name ssh looks up in known_hosts. */
export const knownHostsName = (host: string, port: number): string =>
  port === 22 ? host : `[${host}]:${port}`;

/** One known_hosts line pinning the session's bastion to the host key Drawbridge issued. */
export const knownHostsLine = (host: string, port: number, key: HostKey): string =>
  `${knownHostsName(host, port)} ${key.publicKey}`;
