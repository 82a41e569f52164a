import { SNSClient } from '@aws-sdk/client-sns';
import { clientSettings, once } from './client-settings.ts';

// Its own module so the functions that only alert load SNS and nothing else of the SDK.
export const snsAlertClient = once(() => new SNSClient(clientSettings('sns')));
