import { EC2Client } from '@aws-sdk/client-ec2';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { clientSettings, once } from './client-settings.ts';
import { dynamoClient, dynamoDocumentClient } from './dynamodb-clients.ts';
import { logsClient } from './logs-client.ts';
import { sqsClient } from './sqs-client.ts';

/**
 * Every SDK client, one per service per process (settings in client-settings.ts). Functions
 * that only read import dynamodb-clients.ts directly to keep their cold start small.
 */
export const ec2Client = once(() => new EC2Client(clientSettings('ec2')));
export const ssmClient = once(() => new SSMClient(clientSettings('ssm')));
export const stsClient = once(() => new STSClient(clientSettings('sts')));
export const schedulerClient = once(() => new SchedulerClient(clientSettings('scheduler')));
export const snsClient = once(() => new SNSClient(clientSettings('sns')));

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

export { dynamoClient, dynamoDocumentClient, logsClient, sqsClient };
