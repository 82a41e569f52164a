import { beforeEach } from 'vitest';
import { ManualClock } from '../support/dynamo.ts';
import { InMemorySessionStore } from '../support/in-memory-session-store.ts';
import { sessionStoreContract } from './session-store.contract.ts';

// The fake every use-case test runs on: it must pass the very suite the DynamoDB store passes.
let clock = new ManualClock();
let store = new InMemorySessionStore(clock, { retentionDays: 30 });
beforeEach(() => {
  clock = new ManualClock();
  store = new InMemorySessionStore(clock, { retentionDays: 30 });
});

sessionStoreContract('in memory', () => ({
  store,
  clock,
  retentionDays: 30,
  purgeTimes: async (sessionId, events) => {
    const purge = store.purgeAfter.get(sessionId);
    return {
      session: purge?.session,
      events: Array.from({ length: events }, (_, index) => purge?.events[index]),
    };
  },
}));
