import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { safeParse } from '../domain/validation.ts';

/**
 * TransactWriteItems and TransactGetItems for dynalite, which implements neither. Each
 * transaction is replayed as single-item calls against dynalite and undone if any item
 * fails. The caller must run every write (plain or transactional) under one mutex: that is
 * what makes a transaction atomic with respect to other writers. Readers are NOT isolated:
 * a GetItem or Query that lands mid-transaction can see some items applied and others not
 * (or, for a ConditionCheck on a missing item, a key-only item that is deleted a moment
 * later). Real DynamoDB never shows that, but our store only reads what it wrote under a
 * condition, so this is good enough for a local stand-in.
 */

export type JsonObject = Record<string, unknown>;

/** A DynamoDB API answer: HTTP status and the parsed JSON body. */
export interface Reply {
  status: number;
  body: JsonObject;
}

/** Sends one DynamoDB API call to the internal dynalite. */
export type Call = (operation: string, input: JsonObject) => Promise<Reply>;

const DYNAMODB_ERROR = 'com.amazonaws.dynamodb.v20120810#';

export const validationException = (message: string): Reply => ({
  status: 400,
  body: { __type: 'com.amazon.coral.validate#ValidationException', message },
});

export const internalError = (message: string): Reply => ({
  status: 500,
  body: { __type: `${DYNAMODB_ERROR}InternalServerError`, message },
});

const errorName = (reply: Reply): string | undefined => {
  const type = reply.body.__type;
  return typeof type === 'string' ? type.slice(type.indexOf('#') + 1) : undefined;
};

const isConditionFailure = (reply: Reply): boolean =>
  reply.status === 400 && errorName(reply) === 'ConditionalCheckFailedException';

/** One async lock: whoever holds it is the only writer. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // The next task waits for this one whether it succeeded or not.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const attributeMap = z.record(z.string(), z.unknown());
const expressionFields = {
  TableName: z.string().check(z.minLength(1)),
  ConditionExpression: z.optional(z.string()),
  ExpressionAttributeNames: z.optional(z.record(z.string(), z.string())),
  ExpressionAttributeValues: z.optional(attributeMap),
  ReturnValuesOnConditionCheckFailure: z.optional(z.enum(['ALL_OLD', 'NONE'])),
};

const PutSchema = z.object({ ...expressionFields, Item: attributeMap });
const UpdateSchema = z.object({
  ...expressionFields,
  Key: attributeMap,
  UpdateExpression: z.string().check(z.minLength(1)),
});
const DeleteSchema = z.object({ ...expressionFields, Key: attributeMap });
const ConditionCheckSchema = z.object({
  ...expressionFields,
  Key: attributeMap,
  ConditionExpression: z.string().check(z.minLength(1)),
});

const WriteItemSchema = z
  .object({
    Put: z.optional(PutSchema),
    Update: z.optional(UpdateSchema),
    Delete: z.optional(DeleteSchema),
    ConditionCheck: z.optional(ConditionCheckSchema),
  })
  .check(
    z.refine(
      (item) =>
        [item.Put, item.Update, item.Delete, item.ConditionCheck].filter(Boolean).length === 1,
      'each TransactItem must have exactly one of Put, Update, Delete or ConditionCheck',
    ),
  );

const TransactWriteSchema = z.looseObject({
  TransactItems: z.array(WriteItemSchema).check(z.minLength(1), z.maxLength(100)),
  ClientRequestToken: z.optional(z.string().check(z.minLength(1), z.maxLength(36))),
});

const TransactGetSchema = z.looseObject({
  TransactItems: z
    .array(
      z.object({
        Get: z.object({
          TableName: z.string().check(z.minLength(1)),
          Key: attributeMap,
          ProjectionExpression: z.optional(z.string()),
          ExpressionAttributeNames: z.optional(z.record(z.string(), z.string())),
        }),
      }),
    )
    .check(z.minLength(1), z.maxLength(100)),
});

type WriteItem = z.infer<typeof WriteItemSchema>;

function schemaError(error: z.core.$ZodError): Reply {
  const issue = error.issues[0];
  const where = issue?.path.length ? ` at '${issue.path.join('.')}'` : '';
  return validationException(
    `1 validation error detected${where}: ${issue?.message ?? 'invalid request'}`,
  );
}

/** Copies the named fields that are present, so dynalite never sees an explicit undefined. */
function pick(source: JsonObject, fields: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const field of fields) if (source[field] !== undefined) out[field] = source[field];
  return out;
}

const EXPRESSIONS = [
  'ConditionExpression',
  'ExpressionAttributeNames',
  'ExpressionAttributeValues',
] as const;

interface CancellationReason {
  Code: string;
  Message?: string;
  Item?: unknown;
}

type Outcome =
  | { kind: 'applied'; undo?: () => Promise<Reply> }
  | { kind: 'failed'; reason: CancellationReason }
  | { kind: 'error'; reply: Reply };

/** DynamoDB remembers a ClientRequestToken for 10 minutes; a retried success is not re-applied. */
const TOKEN_WINDOW_MS = 10 * 60_000;
const MAX_TOKENS = 10_000;

export class TransactionEngine {
  private readonly call: Call;
  private readonly keySchemas = new Map<string, readonly string[]>();
  private readonly tokens = new Map<string, { requestHash: string; at: number }>();

  constructor(call: Call) {
    this.call = call;
  }

  /** Table definitions changed: key schemas are looked up again. */
  forgetTables(): void {
    this.keySchemas.clear();
  }

  /** Run under the write mutex. */
  async transactWrite(input: unknown): Promise<Reply> {
    const parsed = safeParse(TransactWriteSchema, input);
    if (!parsed.success) return schemaError(parsed.error);
    const { TransactItems: items, ClientRequestToken: token } = parsed.data;

    const requestHash = createHash('sha256').update(JSON.stringify(items)).digest('hex');
    if (token) {
      const seen = this.recallToken(token);
      if (seen && seen.requestHash === requestHash) return { status: 200, body: {} };
      if (seen) {
        return {
          status: 400,
          body: {
            __type: `${DYNAMODB_ERROR}IdempotentParameterMismatchException`,
            message:
              'The request uses the same client token as a previous, but non-identical request.',
          },
        };
      }
    }

    const resolved = await this.keysOf(items.map(targetOf));
    if ('reply' in resolved) return resolved.reply;
    const { keys } = resolved;

    const undo: Array<() => Promise<Reply>> = [];
    const reasons: CancellationReason[] = [];
    // Every item is attempted even after one fails, because DynamoDB reports the condition
    // of every item, and callers (the session store) decide by which ones failed.
    for (const [index, item] of items.entries()) {
      const key = keys[index] as JsonObject;
      const outcome = await this.apply(item, key);
      if (outcome.kind === 'error') {
        const rollback = await this.rollback(undo);
        return rollback ?? outcome.reply;
      }
      if (outcome.kind === 'failed') reasons.push(outcome.reason);
      else {
        if (outcome.undo) undo.push(outcome.undo);
        reasons.push({ Code: 'None' });
      }
    }

    if (reasons.some((reason) => reason.Code !== 'None')) {
      const rollback = await this.rollback(undo);
      if (rollback) return rollback;
      const codes = reasons.map((reason) => reason.Code).join(', ');
      return {
        status: 400,
        body: {
          __type: `${DYNAMODB_ERROR}TransactionCanceledException`,
          Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
          CancellationReasons: reasons,
        },
      };
    }
    if (token) this.rememberToken(token, requestHash);
    return { status: 200, body: {} };
  }

  /** Run under the write mutex, so the items read form one consistent snapshot. */
  async transactGet(input: unknown): Promise<Reply> {
    const parsed = safeParse(TransactGetSchema, input);
    if (!parsed.success) return schemaError(parsed.error);
    const gets = parsed.data.TransactItems.map((item) => item.Get);
    const resolved = await this.keysOf(gets.map((get) => ({ table: get.TableName, key: get.Key })));
    if ('reply' in resolved) return resolved.reply;

    const responses: JsonObject[] = [];
    for (const get of gets) {
      const reply = await this.call('GetItem', {
        ...pick(get, ['TableName', 'Key', 'ProjectionExpression', 'ExpressionAttributeNames']),
        ConsistentRead: true,
      });
      if (reply.status !== 200) return reply;
      responses.push(reply.body.Item ? { Item: reply.body.Item } : {});
    }
    return { status: 200, body: { Responses: responses } };
  }

  private async apply(item: WriteItem, key: JsonObject): Promise<Outcome> {
    if (item.Put) {
      const put = item.Put;
      const reply = await this.call('PutItem', {
        ...pick(put, ['TableName', 'Item', ...EXPRESSIONS]),
        ReturnValues: 'ALL_OLD',
      });
      return this.outcome(reply, put, key);
    }
    if (item.Update) {
      const update = item.Update;
      const reply = await this.call('UpdateItem', {
        ...pick(update, ['TableName', 'Key', 'UpdateExpression', ...EXPRESSIONS]),
        ReturnValues: 'ALL_OLD',
      });
      return this.outcome(reply, update, key);
    }
    if (item.Delete) {
      const del = item.Delete;
      const reply = await this.call('DeleteItem', {
        ...pick(del, ['TableName', 'Key', ...EXPRESSIONS]),
        ReturnValues: 'ALL_OLD',
      });
      return this.outcome(reply, del, key);
    }
    if (item.ConditionCheck) {
      const check = item.ConditionCheck;
      // An UpdateItem with no update expression evaluates the condition and rewrites the
      // item unchanged; on a missing item it creates a key-only item, removed right away.
      const reply = await this.call('UpdateItem', {
        ...pick(check, ['TableName', 'Key', ...EXPRESSIONS]),
        ReturnValues: 'ALL_OLD',
      });
      const outcome = await this.outcome(reply, check, key);
      if (outcome.kind === 'applied' && outcome.undo) {
        if (reply.body.Attributes === undefined) {
          const removed = await outcome.undo();
          if (removed.status !== 200) return { kind: 'error', reply: removed };
        }
        return { kind: 'applied' };
      }
      return outcome;
    }
    return { kind: 'error', reply: validationException('empty TransactItem') };
  }

  private async outcome(
    reply: Reply,
    request: { TableName: string; ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE' },
    key: JsonObject,
  ): Promise<Outcome> {
    const table = request.TableName;
    if (reply.status === 200) {
      const old = reply.body.Attributes;
      return {
        kind: 'applied',
        undo: () =>
          old && typeof old === 'object'
            ? this.call('PutItem', { TableName: table, Item: old })
            : this.call('DeleteItem', { TableName: table, Key: key }),
      };
    }
    if (!isConditionFailure(reply)) return { kind: 'error', reply };

    const reason: CancellationReason = {
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
    };
    if (request.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
      // dynalite ignores ReturnValuesOnConditionCheckFailure; writers are serialized, so a
      // consistent read now sees exactly the item the condition was evaluated against.
      const current = await this.call('GetItem', {
        TableName: table,
        Key: key,
        ConsistentRead: true,
      });
      if (current.status !== 200) return { kind: 'error', reply: current };
      if (current.body.Item) reason.Item = current.body.Item;
    }
    return { kind: 'failed', reason };
  }

  /** Undoes applied items, newest first. Returns an error reply only if the undo itself failed. */
  private async rollback(undo: Array<() => Promise<Reply>>): Promise<Reply | undefined> {
    for (const step of undo.reverse()) {
      const reply = await step();
      if (reply.status !== 200) {
        return internalError(
          `transaction rollback failed: ${String(reply.body.message ?? reply.body.Message ?? reply.status)}`,
        );
      }
    }
    return undefined;
  }

  /** Each target's primary key, or the reply to send if a table is missing or a key repeats. */
  private async keysOf(
    targets: ReadonlyArray<{ table: string; key?: JsonObject; item?: JsonObject }>,
  ): Promise<{ keys: JsonObject[] } | { reply: Reply }> {
    const keys: JsonObject[] = [];
    const seen = new Set<string>();
    for (const target of targets) {
      const schema = await this.keySchemaOf(target.table);
      if ('reply' in schema) return schema;
      const { names } = schema;
      const source = target.key ?? target.item ?? {};
      const key = pick(source, names);
      const identity = JSON.stringify([target.table, ...names.map((name) => key[name] ?? null)]);
      if (seen.has(identity)) {
        return {
          reply: validationException(
            'Transaction request cannot include multiple operations on one item',
          ),
        };
      }
      seen.add(identity);
      keys.push(key);
    }
    return { keys };
  }

  private async keySchemaOf(
    table: string,
  ): Promise<{ names: readonly string[] } | { reply: Reply }> {
    const cached = this.keySchemas.get(table);
    if (cached) return { names: cached };
    const reply = await this.call('DescribeTable', { TableName: table });
    if (reply.status !== 200) return { reply };
    const parsed = z
      .object({
        Table: z.object({ KeySchema: z.array(z.object({ AttributeName: z.string() })) }),
      })
      .safeParse(reply.body);
    if (!parsed.success) {
      return { reply: internalError(`could not read the key schema of ${table}`) };
    }
    const names = parsed.data.Table.KeySchema.map((element) => element.AttributeName);
    this.keySchemas.set(table, names);
    return { names };
  }

  private recallToken(token: string): { requestHash: string } | undefined {
    const entry = this.tokens.get(token);
    if (entry && Date.now() - entry.at < TOKEN_WINDOW_MS) return entry;
    this.tokens.delete(token);
    return undefined;
  }

  private rememberToken(token: string, requestHash: string): void {
    this.tokens.set(token, { requestHash, at: Date.now() });
    if (this.tokens.size > MAX_TOKENS) {
      const oldest = this.tokens.keys().next();
      if (!oldest.done) this.tokens.delete(oldest.value);
    }
  }
}

function targetOf(item: WriteItem): { table: string; key?: JsonObject; item?: JsonObject } {
  if (item.Put) return { table: item.Put.TableName, item: item.Put.Item };
  const keyed = item.Update ?? item.Delete ?? item.ConditionCheck;
  return { table: keyed?.TableName ?? '', key: keyed?.Key ?? {} };
}
