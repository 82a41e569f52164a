import { SQSClient } from '@aws-sdk/client-sqs';
import { clientSettings, once } from './client-settings.ts';

// Its own module so POST /sessions loads SQS and DynamoDB only.
export const sqsClient = once(() => new SQSClient(clientSettings('sqs')));
