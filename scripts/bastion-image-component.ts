// Prints the EC2 Image Builder component document that bakes the bastion image: the packages
// every boot used to install, the syslog path the CloudWatch agent reads, instance metadata for
// root only from the first boot, and the hardened sshd defaults with the banner, rendered from
// the same functions the session's cloud-config uses (one source of hardening).
//
//   node scripts/bastion-image-component.ts     (serverless/bastion-image.cjs runs it at package)
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { AGENT_CTL, BANNER_PATH, IMDS_GUARD, IMDS_GUARD_PATH } from '../lib/aws/cloud-config.ts';
import { RECORDER_PATH } from '../lib/domain/authorized-key.ts';
import {
  bannerFileContent,
  DEFAULT_BANNER,
  hardenedSshdSettings,
} from '../lib/domain/sshd-hardening.ts';

/** Read after the session's own 00-drawbridge.conf, so a session's values win (sshd keeps the first). */
export const SSHD_DEFAULTS_PATH = '/etc/ssh/sshd_config.d/01-drawbridge-defaults.conf';
/** sudo: a recorded session's user starts the recorder as root through it. */
export const BASTION_PACKAGES = ['amazon-cloudwatch-agent', 'rsyslog', 'nftables', 'sudo'] as const;
/** The same recorder local mode runs (bastion/drawbridge-record): one recorder for both. */
export const RECORDER_SOURCE = new URL('../bastion/drawbridge-record', import.meta.url);
/** What the recorder needs of Python 3.9+: the standard library only, checked at bake time. */
export const RECORDER_CHECK = `/usr/bin/python3 -I -c 'import codecs, ctypes, fcntl, grp, hashlib, json, pty, pwd, select, termios, threading, tty'`;

export function bastionImageComponent(): string {
  const sshdDefaults = [
    '# Drawbridge bastion image defaults: no session yet, so no user and no forward.',
    ...[
      ['PermitRootLogin', 'no'] as [string, string],
      ...hardenedSshdSettings('none', BANNER_PATH),
    ].map(([key, value]) => `${key} ${value}`),
    '',
  ].join('\n');
  const document = {
    name: 'drawbridge-bastion',
    description:
      'Drawbridge bastion: CloudWatch agent, rsyslog, root-only IMDS, hardened sshd, session recorder',
    schemaVersion: 1,
    phases: [
      {
        name: 'build',
        steps: [
          {
            name: 'PatchAndInstall',
            action: 'ExecuteBash',
            inputs: {
              commands: [
                'dnf -y upgrade --refresh',
                `dnf -y install ${BASTION_PACKAGES.join(' ')}`,
                'systemctl enable rsyslog nftables',
              ],
            },
          },
          {
            name: 'HardeningFiles',
            action: 'CreateFile',
            inputs: [
              { path: SSHD_DEFAULTS_PATH, content: sshdDefaults, overwrite: true },
              { path: BANNER_PATH, content: bannerFileContent(DEFAULT_BANNER), overwrite: true },
              { path: IMDS_GUARD_PATH, content: IMDS_GUARD, overwrite: true },
              {
                path: RECORDER_PATH,
                content: readFileSync(RECORDER_SOURCE, 'utf8'),
                overwrite: true,
              },
              {
                path: '/etc/sysconfig/nftables.conf',
                content: `include "${IMDS_GUARD_PATH}"\n`,
                overwrite: true,
              },
            ],
          },
          {
            name: 'Permissions',
            action: 'ExecuteBash',
            inputs: {
              commands: [
                `chmod 0600 ${SSHD_DEFAULTS_PATH} ${IMDS_GUARD_PATH}`,
                `chmod 0644 ${BANNER_PATH}`,
                // root's, run as root by each recorded session's user through sudo; none may edit it
                `chown root:root ${RECORDER_PATH}`,
                `chmod 0755 ${RECORDER_PATH}`,
              ],
            },
          },
        ],
      },
      {
        name: 'validate',
        steps: [
          {
            name: 'BastionReady',
            action: 'ExecuteBash',
            inputs: {
              commands: [
                'sshd -t',
                `rpm -q ${BASTION_PACKAGES.join(' ')}`,
                `test -x ${AGENT_CTL}`,
                `nft -c -f ${IMDS_GUARD_PATH}`,
                `test -x ${RECORDER_PATH}`,
                RECORDER_CHECK,
                'visudo -c',
              ],
            },
          },
        ],
      },
    ],
  };
  // AWSTOE documents say `schemaVersion: 1.0`; the serializer would shorten the number to 1.
  return stringify(document, { lineWidth: 0 }).replace(/^schemaVersion: 1$/m, 'schemaVersion: 1.0');
}

if (import.meta.main) process.stdout.write(bastionImageComponent());
