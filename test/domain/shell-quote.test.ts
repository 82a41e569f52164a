import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellLine, shellQuote } from '../../lib/domain/shell-quote.ts';

// A real POSIX shell reads the line back: printf prints each word it received, NUL-separated.
function readBack(line: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

// Words as a shell user meets them: any printable text, quotes and $ included (no NUL, which
// no argument can hold, and no newline, which these one-line commands never carry).
const word = fc.string({ minLength: 1, maxLength: 24 }).filter((w) => !/[\0\n\r]/.test(w));

describe('shell quoting', () => {
  it('a quote, a dollar and a backtick survive: the word comes back as it was', () => {
    for (const tricky of ["it's", '$(rm -rf ~)', '`id`', 'a\'b"c', 'back\\slash', '!bang']) {
      expect(readBack(shellQuote(tricky))).toEqual([tricky]);
      expect(readBack(shellLine(['x', tricky]))).toEqual(['x', tricky]);
    }
  });

  it('any argument vector reads back unchanged through sh (property)', () => {
    // One shell for every sample (a shell per run is slow): each line ends with a \x01 record.
    const samples = fc.sample(fc.array(word, { minLength: 1, maxLength: 5 }), 300);
    const lines = samples.flatMap((argv) => [shellLine(argv), argv.map(shellQuote).join(' ')]);
    const script = lines.map((line) => `printf '%s\\0' ${line}; printf '\\001'`).join('\n');
    const records = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).split('\x01');
    lines.forEach((line, index) => {
      const argv = samples[Math.floor(index / 2)];
      expect(records[index]?.split('\0').slice(0, -1), line).toEqual(argv);
    });
  });

  it('leaves plain words bare', () => {
    expect(shellLine(['ssh', '-p', '2222', 'user@127.0.0.1'])).toBe('ssh -p 2222 user@127.0.0.1');
  });
});
