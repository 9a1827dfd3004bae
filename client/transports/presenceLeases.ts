// Presence leases of HTTP subscriptions. The proxy holds SSE, NDJSON and long-poll subscribers and
// tells the origin nothing about them, so a subscription on one takes a lease over HTTP
// (PUT /api/channels/:channel/presence/leases/:id) while it is subscribed, renews it as the origin's
// answer says, and deletes it when it ends or moves to a WebSocket (which the origin counts itself).
// One the client stops renewing without a word (a crash, a lost network) lapses on the origin.
import { parseLeaseAnswer, presenceLeasePath, type TransportName } from '../../protocol/index.ts';
import type { SubscriptionStateName } from '../core/clientMachine.ts';
import { refusal } from './httpStreamConnection.ts';
import type { FetchLike } from './runtimeApis.ts';
import { httpBase } from './urls.ts';

/** A failed PUT (network, 5xx) is tried again this long after. */
export const LEASE_RETRY_MS = 5000;

export interface LeaseSubscription {
  channel: string;
  /** Enter the channel's presence as the token's `sub`. */
  enter: boolean;
  /** The token to present now (the subscription's current one), if any. */
  token(): string | undefined;
}

export interface PresenceLeases {
  /** The subscription's state changed: take, keep or give up its lease. */
  follow(sub: number, state: SubscriptionStateName, transport: TransportName, subscription: LeaseSubscription): void;
  /** Gives up every lease (the client closes). */
  close(): void;
}

export interface PresenceLeaseOptions {
  fetch: FetchLike;
  base: string;
  headers: Record<string, string>;
  /** The origin refused the lease for good (a 403: the token does not allow presence); the subscription ends. */
  refused(sub: number, code: string, message: string): void;
  /** Random lease ids (tests); crypto.getRandomValues by default. */
  newLeaseId?: () => string;
}

interface Lease {
  id: string;
  transport: Exclude<TransportName, 'websocket'>;
  subscription: LeaseSubscription;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Gave up (refused, or presence off): no more PUTs. */
  stopped: boolean;
}

export function randomLeaseId(): string {
  const bytes = new Uint8Array(16);
  const crypto = (globalThis as { crypto?: { getRandomValues(b: Uint8Array): Uint8Array } }).crypto;
  if (crypto) crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return Array.from(bytes, (b) => alphabet[b & 63]).join('') + Array.from(bytes.subarray(0, 6), (b) => alphabet[b >> 2]).join('');
}

export function createPresenceLeases(options: PresenceLeaseOptions): PresenceLeases {
  const leases = new Map<number, Lease>();
  const newId = options.newLeaseId ?? randomLeaseId;
  const urlOf = (lease: Lease) => httpBase(options.base) + presenceLeasePath(lease.subscription.channel, lease.id);
  const headersOf = (lease: Lease, json: boolean): Record<string, string> => {
    const token = lease.subscription.token();
    return { ...options.headers, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}), ...(json ? { 'Content-Type': 'application/json' } : {}) };
  };
  const schedule = (sub: number, lease: Lease, ms: number): void => {
    if (lease.timer !== undefined) clearTimeout(lease.timer);
    lease.timer = setTimeout(() => void put(sub, lease), ms);
    (lease.timer as { unref?: () => void }).unref?.();
  };

  const put = async (sub: number, lease: Lease): Promise<void> => {
    lease.timer = undefined;
    if (lease.stopped || leases.get(sub) !== lease) return;
    let retryMs = LEASE_RETRY_MS;
    try {
      const response = await options.fetch(urlOf(lease), {
        method: 'PUT',
        headers: headersOf(lease, true),
        body: JSON.stringify({ transport: lease.transport, ...(lease.subscription.enter ? { presence: true } : {}) }),
      });
      if (leases.get(sub) !== lease) return;
      if (response.status === 200) {
        const answer = parseLeaseAnswer(await response.json());
        if (typeof answer !== 'string') retryMs = answer.renewInMs;
      } else if (response.status === 403 || response.status === 404) {
        // Refused (the token does not grant the channel, or presence), or presence off: for good.
        lease.stopped = true;
        const body = (await response.json().catch(() => ({}))) as { error?: unknown; message?: unknown };
        if (response.status === 403 && lease.subscription.enter) {
          options.refused(sub, typeof body.error === 'string' ? body.error : 'presence_refused', typeof body.message === 'string' ? body.message : 'the origin refused the presence lease');
        }
        return;
      } else {
        await refusal(response);
      }
    } catch {
      // The network: again in a moment.
    }
    if (leases.get(sub) === lease && !lease.stopped) schedule(sub, lease, retryMs);
  };

  const release = (sub: number): void => {
    const lease = leases.get(sub);
    if (!lease) return;
    leases.delete(sub);
    if (lease.timer !== undefined) clearTimeout(lease.timer);
    if (lease.stopped) return;
    void options.fetch(urlOf(lease), { method: 'DELETE', headers: headersOf(lease, false) }).catch(() => {});
  };

  return {
    follow(sub, state, transport, subscription) {
      if (state === 'closed' || transport === 'websocket') return release(sub);
      const current = leases.get(sub);
      if (current && current.transport === transport) return;
      // Taken once subscribed; kept (and renewed) while it reconnects on the same transport.
      if (state !== 'open') return;
      if (current) release(sub);
      const lease: Lease = { id: newId(), transport, subscription, timer: undefined, stopped: false };
      leases.set(sub, lease);
      void put(sub, lease);
    },
    close() {
      for (const sub of [...leases.keys()]) release(sub);
    },
  };
}
