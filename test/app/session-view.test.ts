import { describe, expect, it } from 'vitest';
import { sessionView } from '../../lib/app/session-view.ts';
import { parsePolicy } from '../../lib/domain/policy-yaml.ts';
import type { Session } from '../../lib/domain/session.ts';
import { makeSession } from '../support/sessions.ts';

const INSTANCE = 'i-0aaaaaaaaaaaaaaa1';
const ENDPOINT = 'eice-0123456789abcdef0';
const ENDPOINT_DNS = `${ENDPOINT}.ec2-instance-connect-endpoint.eu-west-1.amazonaws.com`;

const POLICY = parsePolicy(
  `
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
targets:
  - name: web-ssh
    mode: eice
    host: 10.0.1.5
    port: 22
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    eice:
      instanceId: ${INSTANCE}
      osUser: ec2-user
  - name: app-db
    mode: eice
    host: 10.0.1.5
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    eice:
      instanceId: ${INSTANCE}
`,
  'session view test policy',
);

/** A READY eice session as the provider leaves it: a connection record naming the endpoint. */
const readyEice = (target: string, overrides: Partial<Session> = {}): Session =>
  makeSession({
    target,
    mode: 'eice',
    status: 'READY',
    readyAt: Date.UTC(2026, 2, 1, 9, 0, 1),
    expiresAt: Date.UTC(2026, 2, 1, 9, 30, 1),
    resources: {
      targetInstanceId: INSTANCE,
      privateIpAddress: '10.0.1.5',
      eiceEndpointId: ENDPOINT,
      eiceEndpointDns: ENDPOINT_DNS,
    },
    connection: { bastionHost: ENDPOINT_DNS, bastionPort: 22, linuxUser: 'ec2-user' },
    ...overrides,
  });

describe('the view of an eice session', () => {
  it('links to its credentials and says where the tunnel goes, with no bastion ssh lines', () => {
    const session = readyEice('web-ssh');
    const view = sessionView(session, POLICY);
    expect(view.links).toEqual({
      self: `/sessions/${session.id}`,
      events: `/sessions/${session.id}/events`,
      credentials: `/sessions/${session.id}/credentials`,
    });
    expect(view).toMatchObject({
      eice: {
        instanceId: INSTANCE,
        endpointId: ENDPOINT,
        port: 22,
        osUser: 'ec2-user',
        credentials: `/sessions/${session.id}/credentials`,
      },
    });
    // The endpoint is no bastion: `ssh -J ec2-user@<endpoint dns>` would lead nowhere.
    expect(view).not.toHaveProperty('connection');
  });

  it('names no OS user for a port forward target, and offers nothing before READY or after', () => {
    const forward = sessionView(readyEice('app-db'), POLICY);
    expect(forward).toMatchObject({ eice: { port: 5432 } });
    expect(forward.eice).not.toHaveProperty('osUser');
    const ended = sessionView(readyEice('app-db', { status: 'ENDED' }), POLICY);
    expect(ended).not.toHaveProperty('eice');
    // The link stays: asking for credentials of an ended session is answered with a clear 409.
    expect(ended.links).toHaveProperty('credentials');
  });

  it('gives a local session no credentials link', () => {
    const view = sessionView(makeSession({ mode: 'local' }), POLICY);
    expect(view.links).not.toHaveProperty('credentials');
  });
});

describe('the time-to-ready breakdown', () => {
  it('gives each recorded phase in seconds once READY, and nothing before', () => {
    const base = makeSession({ mode: 'eice', target: 'web-ssh' });
    const ready: Session = {
      ...base,
      launchSentAt: base.createdAt + 40,
      bastionRunningAt: base.createdAt + 6_040,
      readyAt: base.createdAt + 18_540,
    };
    expect(sessionView(ready, POLICY).timeToReady).toEqual({
      launch: 0.04,
      running: 6,
      ready: 12.5,
      total: 18.54,
    });
    const pending: Session = { ...base, readyAt: undefined };
    expect(sessionView(pending, POLICY)).not.toHaveProperty('timeToReady');
  });
});

describe('drawbridge show: the breakdown line', () => {
  it('names each phase and who spent it, and says nothing without a total', async () => {
    const { readinessBreakdown } = await import('../../cli/session-commands.ts');
    expect(readinessBreakdown({ launch: 0.04, running: 6, ready: 12.5, total: 18.54 })).toBe(
      '18.5s: launch 0.04s (Drawbridge), running 6.00s (the cloud), ready 12.5s (boot and proof)',
    );
    expect(readinessBreakdown({ launch: 0.04 })).toBeUndefined();
    expect(readinessBreakdown(undefined)).toBeUndefined();
  });
});

describe('the view of a recorded session (recording: full)', () => {
  const policy = parsePolicy(
    `
version: 1
adminGroup: admins
quota:
  activeSessionsPerUser: 2
targets:
  - name: prod-shell
    mode: local
    host: 10.0.1.9
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
    access: shell
    recording: full
    recordInput: true
    idleTimeoutMinutes: 15
  - name: prod-db
    mode: local
    host: 10.0.1.9
    port: 5432
    allowedGroups: [dev]
    defaultDurationMinutes: 30
    maxDurationMinutes: 120
`,
    'recorded view test policy',
  );
  const ready = (target: string, recording: Session['recording']): Session =>
    makeSession({
      target,
      status: 'READY',
      readyAt: Date.UTC(2026, 2, 1, 9, 0, 1),
      expiresAt: Date.UTC(2026, 2, 1, 9, 30, 1),
      connection: { bastionHost: '127.0.0.1', bastionPort: 2201, linuxUser: 'db-abc' },
      ...(recording ? { recording } : {}),
    });

  it('offers the recorded shell (ssh -tt, host key pinned) and no jump or forward the bastion would refuse', () => {
    const session = ready('prod-shell', 'full');
    const knownHostsFile = `~/.ssh/drawbridge-${session.id}.known_hosts`;
    const view = sessionView(session, policy);
    expect(view.connection).toMatchObject({
      recorded: true,
      sshShell: `ssh -tt -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsFile} -p 2201 db-abc@127.0.0.1`,
      knownHostsFile,
      target: { host: '10.0.1.9', port: 5432 },
    });
    expect(view.connection).not.toHaveProperty('sshJump');
    expect(view.connection).not.toHaveProperty('sshForward');
    expect(view.connection?.sshConfig).toBe(
      [
        'Host drawbridge-prod-shell',
        '  HostName 127.0.0.1',
        '  Port 2201',
        '  User db-abc',
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking yes',
        `  UserKnownHostsFile ${knownHostsFile}`,
        '  RequestTTY force',
        '',
      ].join('\n'),
    );
  });

  it('states the recording policy: the terminal and the keys typed, and the idle timeout', () => {
    expect(sessionView(ready('prod-shell', 'full'), policy).recordingPolicy).toEqual({
      mode: 'full',
      input: true,
      idleTimeoutMinutes: 15,
      idleEndsSession: true,
    });
    expect(sessionView(ready('prod-db', 'metadata'), policy).recordingPolicy).toEqual({
      mode: 'metadata',
      input: false,
    });
    // Sessions requested before recording existed were metadata.
    expect(sessionView(ready('prod-db', undefined), policy).recordingPolicy.mode).toBe('metadata');
  });

  it('leaves an unrecorded session its jump and forward lines, and no shell line', () => {
    const view = sessionView(ready('prod-db', 'metadata'), policy);
    expect(view.connection).not.toHaveProperty('recorded');
    expect(view.connection).not.toHaveProperty('sshShell');
    expect(view.connection).toMatchObject({
      sshJump: 'ssh -J drawbridge-prod-db -p 5432 10.0.1.9',
      sshForward: expect.stringContaining(' -N -L 127.0.0.1:5432:10.0.1.9:5432 -p 2201 '),
    });
    expect(view.connection?.sshConfig).toContain('  SessionType none\n');
  });
});
