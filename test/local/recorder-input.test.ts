// Which keys the recorder leaves out of a recording with input on: those typed while the
// terminal reads a password (line mode, echo off), and any typed while the terminal's mode
// cannot be read. The recorder's own function, run by python3 on a real pty pair.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RECORDER = fileURLToPath(new URL('../../bastion/drawbridge-record', import.meta.url));

const PROBE = `
import importlib.machinery, importlib.util, json, os, sys, termios
loader = importlib.machinery.SourceFileLoader("recorder", sys.argv[1])
recorder = importlib.util.module_from_spec(importlib.util.spec_from_loader("recorder", loader))
loader.exec_module(recorder)
master, slave = os.openpty()
def mode(on, off):
    attrs = termios.tcgetattr(slave)
    attrs[3] = (attrs[3] | on) & ~off
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return recorder.typed_unseen(master)
seen = {
    "echoing line mode (a shell)": mode(termios.ICANON | termios.ECHO, 0),
    "line mode, echo off (a password prompt)": mode(termios.ICANON, termios.ECHO),
    "raw, echo off (readline, vim)": mode(0, termios.ICANON | termios.ECHO),
}
os.close(master)
seen["a mode that cannot be read"] = recorder.typed_unseen(master)
print(json.dumps(seen))
`;

describe('the recorder leaves keys out of the recording', () => {
  it("typed at a password prompt, or when the terminal's mode cannot be read; keeps the rest", () => {
    const seen = JSON.parse(
      execFileSync('python3', ['-I', '-c', PROBE, RECORDER], { encoding: 'utf8' }),
    );
    expect(seen).toEqual({
      'echoing line mode (a shell)': false,
      'line mode, echo off (a password prompt)': true,
      'raw, echo off (readline, vim)': false,
      'a mode that cannot be read': true,
    });
  });
});
