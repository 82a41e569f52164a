// The baked bastion image carries the same recorder local mode runs (issue 12, one recorder).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RECORDER_COMMAND, RECORDER_PATH } from '../../lib/domain/authorized-key.ts';
import {
  BASTION_PACKAGES,
  bastionImageComponent,
  RECORDER_CHECK,
  RECORDER_SOURCE,
} from '../../scripts/bastion-image-component.ts';

interface Step {
  name: string;
  action: string;
  inputs: { commands?: string[] } | { path: string; content: string }[];
}
const phases = (parse(bastionImageComponent()) as { phases: { name: string; steps: Step[] }[] })
  .phases;
const steps = (phase: string) => phases.find((entry) => entry.name === phase)?.steps ?? [];
const commands = (phase: string) =>
  steps(phase).flatMap((step) => (Array.isArray(step.inputs) ? [] : (step.inputs.commands ?? [])));

describe('bastion image: the session recorder', () => {
  it('installs bastion/drawbridge-record byte for byte at the path the key and sshd force', () => {
    const files = steps('build').flatMap((step) => (Array.isArray(step.inputs) ? step.inputs : []));
    const recorder = files.find((file) => file.path === RECORDER_PATH);
    expect(RECORDER_PATH).toBe('/usr/local/bin/drawbridge-record');
    expect(RECORDER_COMMAND).toBe(`/usr/bin/sudo -n ${RECORDER_PATH}`);
    expect(recorder?.content).toBe(readFileSync(RECORDER_SOURCE, 'utf8'));
    // -I: it runs as root, so no PYTHON* variable and no user site directory may steer it
    expect(recorder?.content.startsWith('#!/usr/bin/python3 -I\n')).toBe(true);
  });

  it('installs sudo, through which the session user starts the recorder as root, and checks its config', () => {
    expect(BASTION_PACKAGES).toContain('sudo');
    expect(commands('validate')).toContain('visudo -c');
  });

  it("makes it root's and executable, and checks at bake time that Python has what it needs", () => {
    expect(commands('build')).toEqual(
      expect.arrayContaining([`chown root:root ${RECORDER_PATH}`, `chmod 0755 ${RECORDER_PATH}`]),
    );
    expect(commands('validate')).toEqual(
      expect.arrayContaining([`test -x ${RECORDER_PATH}`, RECORDER_CHECK]),
    );
  });
});
