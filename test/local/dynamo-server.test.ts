import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactGetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClientFor } from '../../lib/aws/dynamodb-session-store.ts';
import { ensureTable } from '../../lib/aws/table-definition.ts';
import { startDynamo } from '../../lib/local/dynamo-server.ts';
import { localDynamoClient, useDynamo } from '../support/dynamo.ts';

const dynamo = useDynamo();

const key = (pk: string) => ({ pk, sk: 'ITEM' });

async function read(pk: string) {
  const { Item } = await dynamo.documentClient.send(
    new GetCommand({ TableName: dynamo.tableName, Key: key(pk), ConsistentRead: true }),
  );
  return Item;
}

async function put(pk: string, fields: Record<string, unknown> = {}) {
  await dynamo.documentClient.send(
    new PutCommand({ TableName: dynamo.tableName, Item: { ...key(pk), ...fields } }),
  );
}

async function transactWrite(items: TransactWriteCommandInput['TransactItems']) {
  return dynamo.documentClient.send(new TransactWriteCommand({ TransactItems: items }));
}

async function cancellation(promise: Promise<unknown>): Promise<TransactionCanceledException> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(TransactionCanceledException);
  return error as TransactionCanceledException;
}

describe('TransactWriteItems', () => {
  it('applies every item when all conditions hold', async () => {
    await put('existing', { n: 1 });
    await put('doomed');
    const table = dynamo.tableName;

    await transactWrite([
      {
        Put: {
          TableName: table,
          Item: { ...key('new'), v: 'x' },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: table,
          Key: key('existing'),
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
      { Delete: { TableName: table, Key: key('doomed') } },
      {
        ConditionCheck: {
          TableName: table,
          Key: key('absent'),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ]);

    expect(await read('new')).toMatchObject({ v: 'x' });
    expect(await read('existing')).toMatchObject({ n: 2 });
    expect(await read('doomed')).toBeUndefined();
    // A condition check on a missing item must not leave a key-only item behind.
    expect(await read('absent')).toBeUndefined();
  });

  it('undoes every earlier item and names the failed condition, in order, when one fails', async () => {
    await put('counter', { n: 5 });
    await put('taken', { owner: 'bob' });
    await put('keep', { v: 'still here' });
    const table = dynamo.tableName;

    const error = await cancellation(
      transactWrite([
        { Put: { TableName: table, Item: { ...key('fresh'), v: 1 } } },
        {
          Update: {
            TableName: table,
            Key: key('counter'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        {
          Put: {
            TableName: table,
            Item: { ...key('taken'), owner: 'alice' },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        { Delete: { TableName: table, Key: key('keep') } },
      ]),
    );

    expect(error.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        Item: { pk: { S: 'taken' }, sk: { S: 'ITEM' }, owner: { S: 'bob' } },
      },
      { Code: 'None' },
    ]);
    expect(error.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed, None]',
    );
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(await read('fresh')).toBeUndefined();
    expect(await read('counter')).toMatchObject({ n: 5 });
    expect(await read('taken')).toMatchObject({ owner: 'bob' });
    expect(await read('keep')).toMatchObject({ v: 'still here' });
  });

  it('reports every failed condition, and the item only where it was asked for', async () => {
    await put('a', { n: 1 });
    await put('b', { n: 1 });
    const table = dynamo.tableName;

    const error = await cancellation(
      transactWrite([
        {
          ConditionCheck: {
            TableName: table,
            Key: key('a'),
            ConditionExpression: 'n > :two',
            ExpressionAttributeValues: { ':two': 2 },
          },
        },
        {
          Update: {
            TableName: table,
            Key: key('c'),
            UpdateExpression: 'SET v = :v',
            ExpressionAttributeValues: { ':v': 'x' },
          },
        },
        {
          Update: {
            TableName: table,
            Key: key('b'),
            UpdateExpression: 'ADD n :one',
            ConditionExpression: 'n > :two',
            ExpressionAttributeValues: { ':one': 1, ':two': 2 },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ]),
    );

    expect(error.CancellationReasons?.map((reason) => reason.Code)).toEqual([
      'ConditionalCheckFailed',
      'None',
      'ConditionalCheckFailed',
    ]);
    expect(error.CancellationReasons?.[0]?.Item).toBeUndefined();
    expect(error.CancellationReasons?.[2]?.Item).toEqual({
      pk: { S: 'b' },
      sk: { S: 'ITEM' },
      n: { N: '1' },
    });
    expect(await read('c')).toBeUndefined();
    expect(await read('b')).toMatchObject({ n: 1 });
  });

  it('rejects two operations on one item like DynamoDB, writing nothing', async () => {
    const table = dynamo.tableName;
    const error = await transactWrite([
      { Put: { TableName: table, Item: { ...key('twice'), v: 1 } } },
      {
        Update: {
          TableName: table,
          Key: key('twice'),
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': 2 },
        },
      },
    ]).catch((failure: unknown) => failure);

    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'Transaction request cannot include multiple operations on one item',
    });
    expect(await read('twice')).toBeUndefined();
  });

  it('does not apply a retried request twice (same ClientRequestToken)', async () => {
    const input = {
      ClientRequestToken: 'retry-token-1',
      TransactItems: [
        {
          Update: {
            TableName: dynamo.tableName,
            Key: key('counter'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
      ],
    };
    await dynamo.documentClient.send(new TransactWriteCommand(input));
    await dynamo.documentClient.send(new TransactWriteCommand(input));

    expect(await read('counter')).toMatchObject({ n: 1 });
  });

  it('lets exactly N of 50 concurrent conditional increments through', async () => {
    const limit = 7;
    const table = dynamo.tableName;
    const attempts = Array.from({ length: 50 }, (_, index) =>
      transactWrite([
        {
          Update: {
            TableName: table,
            Key: key('quota'),
            UpdateExpression: 'ADD n :one',
            ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
            ExpressionAttributeValues: { ':one': 1, ':limit': limit },
          },
        },
        { Put: { TableName: table, Item: { pk: 'granted', sk: `G#${index}` } } },
      ]),
    );
    const results = await Promise.allSettled(attempts);

    const granted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result) => result.status === 'rejected');
    expect(granted).toHaveLength(limit);
    for (const result of refused)
      expect(result.reason).toBeInstanceOf(TransactionCanceledException);
    expect(await read('quota')).toMatchObject({ n: limit });
    const { Count } = await dynamo.documentClient.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'granted' },
        ConsistentRead: true,
      }),
    );
    expect(Count).toBe(limit);
  });

  it('never lets a rolled-back transaction undo a concurrent one that committed', async () => {
    await put('blocker');
    const table = dynamo.tableName;
    // Every odd attempt increments first, then fails on the blocker and must roll back
    // exactly its own increment, while the even ones commit around it.
    const attempts = Array.from({ length: 50 }, (_, index) =>
      transactWrite([
        {
          Update: {
            TableName: table,
            Key: key('counter'),
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        {
          ConditionCheck: {
            TableName: table,
            Key: key(index % 2 === 0 ? `free-${index}` : 'blocker'),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ]),
    );
    const results = await Promise.allSettled(attempts);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(25);
    expect(await read('counter')).toMatchObject({ n: 25 });
  });
});

describe('TransactGetItems', () => {
  it('returns each requested item in order, and an empty response for a missing one', async () => {
    await put('one', { v: 1 });
    await put('two', { v: 2 });
    const table = dynamo.tableName;

    const { Responses } = await dynamo.documentClient.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: table, Key: key('two') } },
          { Get: { TableName: table, Key: key('missing') } },
          { Get: { TableName: table, Key: key('one') } },
        ],
      }),
    );

    expect(Responses?.map((response) => response.Item?.v)).toEqual([2, undefined, 1]);
  });
});

describe('the front server', () => {
  it('accepts a gzip-compressed request body', async () => {
    const response = await fetch(dynamo.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'content-encoding': 'gzip',
        'x-amz-target': 'DynamoDB_20120810.DescribeTable',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260301/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        'x-amz-date': '20260301T000000Z',
      },
      body: gzipSync(JSON.stringify({ TableName: dynamo.tableName })),
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ Table: { TableName: dynamo.tableName } });
  });
});

describe('persistence', () => {
  const directories: string[] = [];
  afterEach(async () => {
    for (const directory of directories.splice(0)) {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('keeps tables and items under `path` across a restart', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'drawbridge-dynamo-'));
    directories.push(directory);

    const first = await startDynamo({ path: directory });
    const firstClient = localDynamoClient(first.endpoint);
    await ensureTable(firstClient, 'persisted');
    await documentClientFor(firstClient).send(
      new TransactWriteCommand({
        TransactItems: [{ Put: { TableName: 'persisted', Item: { ...key('kept'), v: 'yes' } } }],
      }),
    );
    // The SDK's keep-alive socket is deliberately left open: close() must not wait on it.
    await first.close();
    firstClient.destroy();

    const second = await startDynamo({ path: directory });
    const secondClient = localDynamoClient(second.endpoint);
    try {
      const { Item } = await documentClientFor(secondClient).send(
        new GetCommand({ TableName: 'persisted', Key: key('kept'), ConsistentRead: true }),
      );
      expect(Item).toMatchObject({ v: 'yes' });
    } finally {
      secondClient.destroy();
      await second.close();
    }
  });
});
