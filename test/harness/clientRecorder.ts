// Records what a subscription of the fanout-forward client hands the application (messages, resets,
// recoveries, states), with a way to wait until enough arrived: for the client's end-to-end tests.
import type { Message, Recovery, ResetNotice, StateChange, Subscription, SubscriptionError } from '../../client/index.ts';
import { createArrivals } from './arrivals.ts';

export interface SubscriptionRecord {
  sub: Subscription;
  messages: Message[];
  resets: ResetNotice[];
  recoveries: Recovery[];
  states: StateChange[];
  errors: SubscriptionError[];
  /** Ids of the stored messages, in arrival order. */
  ids(): string[];
  /** Resolves once `count` stored messages arrived. */
  waitForIds(count: number, timeoutMs?: number): Promise<string[]>;
  waitForRecovery(reason: Recovery['reason'], timeoutMs?: number): Promise<Recovery>;
  waitForState(match: (s: StateChange) => boolean, timeoutMs?: number): Promise<StateChange>;
  waitForError(timeoutMs?: number): Promise<SubscriptionError>;
}

export function recordSubscription(sub: Subscription): SubscriptionRecord {
  const messages = createArrivals<Message>(`messages of ${sub.channel}`);
  const recoveries = createArrivals<Recovery>(`recoveries of ${sub.channel}`);
  const states = createArrivals<StateChange>(`states of ${sub.channel}`);
  const errors = createArrivals<SubscriptionError>(`errors of ${sub.channel}`);
  const resets: ResetNotice[] = [];
  sub.on('message', (m) => messages.push(m));
  sub.on('reset', (r) => resets.push(r));
  sub.on('recovering', (r) => recoveries.push(r));
  sub.on('state', (s) => states.push(s));
  sub.on('error', (e) => errors.push(e));
  const stored = (m: Message): boolean => m.id !== undefined;
  return {
    sub,
    messages: messages.items,
    resets,
    recoveries: recoveries.items,
    states: states.items,
    errors: errors.items,
    ids: () => messages.items.filter(stored).map((m) => m.id!),
    waitForIds: async (count, timeoutMs = 15_000) => (await messages.waitFor(count, { match: stored, timeoutMs })).map((m) => m.id!),
    waitForRecovery: async (reason, timeoutMs = 15_000) => (await recoveries.waitFor(1, { match: (r) => r.reason === reason, timeoutMs }))[0]!,
    waitForState: async (match, timeoutMs = 15_000) => (await states.waitFor(1, { match, timeoutMs }))[0]!,
    waitForError: async (timeoutMs = 15_000) => (await errors.waitFor(1, { timeoutMs }))[0]!,
  };
}
