import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { issueHostKey, knownHostsLine, sshFingerprint } from '../../lib/domain/host-key.ts';

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-hostkey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the host key Drawbridge issues', () => {
  it('is an OpenSSH private key that ssh-keygen reads, with the public key and fingerprint it reports', () => {
    const key = issueHostKey();
    const file = join(dir, 'ssh_host_ed25519_key');
    writeFileSync(file, key.privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' });
    expect(derived.trim().split(' ').slice(0, 2).join(' ')).toBe(key.publicKey);
    const listed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' });
    expect(listed.split(' ')[1]).toBe(key.fingerprint);
    expect(sshFingerprint(key.publicKey)).toBe(key.fingerprint);
  });

  it('is fresh every time', () => {
    expect(issueHostKey().publicKey).not.toBe(issueHostKey().publicKey);
  });

  it('pins the port in known_hosts only when it is not 22', () => {
    const key = issueHostKey();
    expect(knownHostsLine('198.51.100.7', 22, key)).toBe(`198.51.100.7 ${key.publicKey}`);
    expect(knownHostsLine('127.0.0.1', 40222, key)).toBe(`[127.0.0.1]:40222 ${key.publicKey}`);
  });
});
