import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One client per service per process: a Lambda container reuses them (and their keep-alive
 * connections) across invocations. No endpoint or region is set here, so the SDK's own
 * AWS_REGION, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> handling decides where requests
 * go: the same code runs against AWS, LocalStack, dynalite or any compatible endpoint.
 */
const common = {
  // The SDK retries throttling and transient errors with backoff; three tries keep a stuck
  // call well inside API Gateway's 30 s.
  maxAttempts: 3,
  // Without timeouts a half-open socket would hold a Lambda until its own timeout.
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
};

function once<T>(create: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= create();
    return client;
  };
}

export const ec2Client = once(() => new EC2Client(common));
export const ssmClient = once(() => new SSMClient(common));
export const stsClient = once(() => new STSClient(common));
export const schedulerClient = once(() => new SchedulerClient(common));
export const snsClient = once(() => new SNSClient(common));
export const sqsClient = once(() => new SQSClient(common));
export const logsClient = once(() => new CloudWatchLogsClient(common));
export const dynamoClient = once(() => new DynamoDBClient(common));
export const dynamoDocumentClient = once(() =>
  DynamoDBDocumentClient.from(dynamoClient(), {
    // Optional session fields are simply absent; class instances are never meant to be stored.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
);

/** The same factories grouped, as the composition root uses them (`clients.ec2()`). */
export const clients = {
  ec2: ec2Client,
  ssm: ssmClient,
  sts: stsClient,
  scheduler: schedulerClient,
  sns: snsClient,
  sqs: sqsClient,
  logs: logsClient,
  dynamo: dynamoClient,
  dynamoDocument: dynamoDocumentClient,
} as const;
