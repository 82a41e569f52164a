import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultPricing } from '../../lib/domain/cost.ts';
import { UsageAccumulator } from '../../lib/domain/usage.ts';
import { CSV_COLUMNS, csvCell, usageCsv } from '../../lib/domain/usage-csv.ts';
import { testPolicy } from '../support/fakes.ts';
import { makeSession } from '../support/sessions.ts';

/** RFC 4180 reader: enough to check what a spreadsheet would see. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index += 1;
    } else cell += char;
  }
  return rows;
}

function report(owner: string) {
  const usage = new UsageAccumulator({
    window: {
      from: Date.parse('2026-11-01T00:00:00Z'),
      to: Date.parse('2026-11-02T00:00:00Z'),
      now: Date.parse('2026-11-05T00:00:00Z'),
    },
    groupBy: 'user',
    policy: testPolicy(),
    pricing: defaultPricing(),
    pricingSource: 'default',
  });
  const readyAt = Date.parse('2026-11-01T10:00:00Z');
  usage.add(
    makeSession({
      owner,
      mode: 'ec2',
      createdAt: readyAt - 60_000,
      readyAt,
      expiresAt: readyAt + 1_800_000,
      endedAt: readyAt + 1_800_000,
      status: 'ENDED',
      auditSeq: 6,
      resources: { instanceType: 't4g.nano' },
    }),
  );
  return usage.report();
}

describe('usage CSV', () => {
  it('has one row per group, then the total and the idle baseline', () => {
    const rows = readCsv(usageCsv(report('alice')));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.map((row) => row[0])).toEqual(['row', 'group', 'total', 'idle-baseline']);
    const [group, total] = [rows[1] ?? [], rows[2] ?? []];
    const cell = (row: string[], column: (typeof CSV_COLUMNS)[number]) =>
      row[CSV_COLUMNS.indexOf(column)];
    expect(cell(group, 'key')).toBe('alice');
    expect(cell(group, 'bastion_seconds')).toBe('1800');
    expect(cell(group, 'instances_usd')).toBe('0.002100');
    expect(cell(group, 'public_ipv4_usd')).toBe('0.002500');
    expect(cell(total, 'key')).toBe('2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z');
    expect(cell(total, 'orphans_found')).toBe('0');
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
  });

  it('quotes separators and neutralizes formulas in names', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('-1+1')).toBe("'-1+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('property: any owner name survives a round trip and never starts a formula', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (owner) => {
        const rows = readCsv(usageCsv(report(owner)));
        expect(rows).toHaveLength(4);
        const key = rows[1]?.[1] ?? '';
        expect(key.replace(/^'(?=[=+\-@\t\r])/, '')).toBe(owner);
        expect(key).not.toMatch(/^[=+\-@\t\r]/);
      }),
    );
  });
});
