import { endpointFull } from '../../domain/eice-session-policy.ts';
import type { QuotaExceededError } from '../../domain/errors.ts';
import type { Session } from '../../domain/session.ts';
import { itemKey } from '../table-definition.ts';
import type { Table } from './table.ts';
import type { TransactItem } from './transaction.ts';

/**
 * Endpoint counters: EICE#<endpointId> / ENDPOINT, `active` live eice sessions through that
 * EC2 Instance Connect Endpoint (which allows 20 connections at once). Taken in the transaction
 * that creates the session, given back in the one that ends it, like the quota counter.
 */

/** The endpoint an eice session counts on; undefined for every other session. */
export const countedEndpoint = (session: Session): string | undefined =>
  session.mode === 'eice' ? session.resources.eiceEndpointId : undefined;

/** Takes one slot on the session's endpoint, if fewer than `cap` are taken. */
export function takeEndpointSlot(table: Table, endpointId: string, cap: number): TransactItem {
  return {
    Update: {
      TableName: table.name,
      Key: itemKey.endpoint(endpointId),
      UpdateExpression: 'ADD #active :one',
      // Created on first use; the condition enforces the cap however many requests race.
      ConditionExpression:
        cap > 0 ? 'attribute_not_exists(#active) OR #active < :cap' : '#active < :cap',
      ExpressionAttributeNames: { '#active': 'active' },
      ExpressionAttributeValues: { ':one': 1, ':cap': cap },
    },
  };
}

/** Gives the slot back; fails (and is then left out) on a counter already at zero. */
export function releaseEndpointSlot(table: Table, endpointId: string): TransactItem {
  return {
    Update: {
      TableName: table.name,
      Key: itemKey.endpoint(endpointId),
      UpdateExpression: 'ADD #active :minusOne',
      ConditionExpression: '#active >= :one',
      ExpressionAttributeNames: { '#active': 'active' },
      ExpressionAttributeValues: { ':minusOne': -1, ':one': 1 },
    },
  };
}

export const endpointRefusal = (endpointId: string, cap: number): QuotaExceededError =>
  endpointFull(endpointId, cap);
