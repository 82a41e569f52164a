import type { EC2Client } from '@aws-sdk/client-ec2';
import { clientSettings } from './client-settings.ts';

export type Ec2Sdk = typeof import('@aws-sdk/client-ec2');

let sdk: Promise<Ec2Sdk> | undefined;
/**
 * The EC2 SDK, imported on first use and never with a module: loading it costs ~500 ms, and
 * reap, expire and end need it only when a session or resource of theirs is an ec2 one.
 * (A static import anywhere in a bundle is hoisted and loaded at cold start.)
 */
export function loadEc2Sdk(): Promise<Ec2Sdk> {
  sdk ??= import('@aws-sdk/client-ec2');
  return sdk;
}

let client: Promise<EC2Client> | undefined;
/** One client per process, made on first use. */
export function ec2Client(): Promise<EC2Client> {
  client ??= loadEc2Sdk().then((module) => new module.EC2Client(clientSettings('ec2')));
  return client;
}
