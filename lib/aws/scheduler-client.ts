import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { clientSettings, once } from './client-settings.ts';

// Its own module so that only the functions that schedule or cancel an end load it.
export const schedulerClient = once(() => new SchedulerClient(clientSettings('scheduler')));
