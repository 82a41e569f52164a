// Facts about the machine a local bastion runs on: where OpenSSH's server is, and whether
// sshd's StrictModes can hold for a session's files.
import { accessSync, constants } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { ProvisioningError } from '../domain/errors.ts';

const SSHD_CANDIDATES = [
  '/usr/sbin/sshd',
  '/usr/local/sbin/sshd',
  '/opt/homebrew/sbin/sshd',
  '/usr/bin/sshd',
];
const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Where OpenSSH's server is, if it is installed: the usual places, then `searchPath` (a PATH
 * value the caller read from its environment). `npm start` uses this to say what to install.
 */
export function findSshd(searchPath?: string): string | undefined {
  const fromPath = (searchPath ?? '')
    .split(delimiter)
    .filter((dir) => isAbsolute(dir))
    .map((dir) => join(dir, 'sshd'));
  return [...SSHD_CANDIDATES, ...fromPath].find(isExecutable);
}

export const SSHD_MISSING_MESSAGE =
  'sshd (OpenSSH server) is not installed: run `sudo apt-get install openssh-server`';

/**
 * sshd's StrictModes refuses a key file if any directory above it is writable by others, and
 * a data dir under /tmp always has one (/tmp itself). We keep StrictModes on whenever the path
 * passes sshd's own test, and otherwise make sure ourselves that only the sticky bit stands
 * in the way (a sticky directory lets nobody else rename or replace what we own in it);
 * anything weaker stops the launch rather than run a bastion that trusts a writable path.
 */
export async function strictModesFor(keyFile: string, uid: number): Promise<boolean> {
  const path = await realpath(keyFile);
  const home = await realpath(homedir()).catch(() => undefined);
  const trusted = (owner: number): boolean => owner === 0 || owner === uid;
  const file = await stat(path);
  if (!trusted(file.uid) || (file.mode & 0o022) !== 0) {
    throw new ProvisioningError(`${path} is not private to the user running Drawbridge`);
  }
  let strict = true;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir);
    const othersMayWrite = (info.mode & 0o022) !== 0;
    if (!trusted(info.uid) || (othersMayWrite && (info.mode & 0o1000) === 0)) {
      throw new ProvisioningError(
        `the data directory is unsafe for sshd: ${dir} is writable by other users or owned by someone else`,
      );
    }
    if (othersMayWrite) strict = false;
    if (dir === home || dir === dirname(dir)) break;
  }
  return strict;
}
