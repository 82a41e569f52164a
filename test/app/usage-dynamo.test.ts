// The usage report's reads against a real table (dynalite): sessions by creation time through
// the byCreated index, page by page, and the reaper's day records; never a Scan.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { usageReport } from '../../lib/app/usage.ts';
import { DynamoDbSessionStore, documentClientFor } from '../../lib/aws/dynamodb-session-store.ts';
import { ValidationError } from '../../lib/domain/errors.ts';
import type { Session } from '../../lib/domain/session.ts';
import { LOCAL_AWS, useDynamo } from '../support/dynamo.ts';
import { testPolicy } from '../support/fakes.ts';
import { BASE_TIME, makeSession } from '../support/sessions.ts';

const db = useDynamo();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

async function put(session: Session): Promise<Session> {
  const { session: stored } = await db.store.create(session, {
    quota: 1_000,
    event: { type: 'requested', actor: session.owner },
  });
  return stored;
}

/** A store over the same table whose client remembers every command it sends. */
function recordingStore() {
  const commands: { name: string; index?: string }[] = [];
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: db.endpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { IndexName?: string };
      commands.push({
        name: String(context.commandName),
        ...(input.IndexName ? { index: input.IndexName } : {}),
      });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  const store = new DynamoDbSessionStore({
    client: documentClientFor(client),
    tableName: db.tableName,
    retentionDays: 30,
    clock: db.clock,
  });
  return { store, commands, client };
}

describe('DynamoDbSessionStore for usage', () => {
  it('lists sessions created in [from, to), newest first, page by page', async () => {
    const owners = ['a', 'b', 'c', 'd', 'e'];
    const created = await Promise.all(
      owners.map((owner, index) =>
        put(makeSession({ owner, createdAt: BASE_TIME + index * HOUR })),
      ),
    );
    const from = BASE_TIME + HOUR;
    const to = BASE_TIME + 4 * HOUR;
    const first = await db.store.listCreatedBetween(from, to, { limit: 2 });
    expect(first.items.map((s) => s.owner)).toEqual(['d', 'c']);
    expect(first.cursor).toBeDefined();
    const second = await db.store.listCreatedBetween(from, to, {
      limit: 2,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });
    expect(second.items.map((s) => s.owner)).toEqual(['b']);
    expect(second.cursor).toBeUndefined();
    expect(created).toHaveLength(5);
    // a cursor from another range is refused, not followed
    await expect(
      db.store.listCreatedBetween(BASE_TIME + 10 * HOUR, BASE_TIME + 11 * HOUR, {
        limit: 2,
        ...(first.cursor ? { cursor: first.cursor } : {}),
      }),
    ).rejects.toThrow(ValidationError);
    expect((await db.store.listCreatedBetween(to, from, { limit: 5 })).items).toEqual([]);
  });

  it("adds up a day's sweeps atomically and reads a range of days", async () => {
    const day = Date.UTC(2026, 10, 1, 10);
    const sweep = { orphansFound: 1, orphansReaped: 1, expired: 2, failed: 0 };
    await Promise.all([
      db.store.recordReaperSweep(day, sweep),
      db.store.recordReaperSweep(day + HOUR, { ...sweep, orphansReaped: 0 }),
      db.store.recordReaperSweep(day + 86_400_000, sweep),
      db.store.recordReaperSweep(day + 5 * 86_400_000, sweep),
    ]);
    expect(await db.store.listReaperDays('2026-11-01', '2026-11-02')).toEqual([
      { day: '2026-11-01', sweeps: 2, orphansFound: 2, orphansReaped: 1, expired: 4, failed: 0 },
      { day: '2026-11-02', sweeps: 1, orphansFound: 1, orphansReaped: 1, expired: 2, failed: 0 },
    ]);
    expect(await db.store.listReaperDays('2026-11-03', '2026-11-02')).toEqual([]);
  });

  it('builds the report with Queries on byCreated and the reaper partition, never a Scan', async () => {
    for (let index = 0; index < 30; index += 1) {
      const createdAt = BASE_TIME + index * MINUTE;
      await put(
        makeSession({
          owner: `user-${index % 3}`,
          createdAt,
          mode: 'ec2',
          resources: { instanceType: 't4g.nano' },
        }),
      );
    }
    const { store, commands, client } = recordingStore();
    db.clock.current = BASE_TIME + 2 * HOUR;
    const report = await usageReport(
      { policy: testPolicy(), store, clock: db.clock },
      { subject: 'root', groups: ['drawbridge-admins'] },
      { from: BASE_TIME, to: BASE_TIME + 86_400_000, groupBy: 'user' },
    );
    client.destroy();
    expect(report.totals.sessions).toBe(30);
    expect(report.groups.map((group) => group.sessions)).toEqual([10, 10, 10]);
    expect(commands.map((command) => command.name)).not.toContain('ScanCommand');
    expect(commands).toContainEqual({ name: 'QueryCommand', index: 'byCreated' });
    expect(commands.every((command) => command.name === 'QueryCommand')).toBe(true);
  });
});
