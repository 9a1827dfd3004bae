// A WebSocket connection's state between WebSocket-over-HTTP requests. The origin keeps none itself:
// it travels in the proxy's connection meta (response `Set-Meta-<name>`, request `Meta-<name>`).
import { randomBytes } from 'node:crypto';
import { isMessageId, isValidChannelName } from '../../protocol/index.ts';

/** A subscribe in progress (see wsSubscribe.ts): waiting for the pong of its latest barrier. */
export interface PendingSubscribe {
  channel: string;
  since?: string;
  /** The barrier whose pong moves it on: the proxy applied the subscription and wrote what came before. */
  barrier: number;
  /** When it last made progress. */
  startedMs: number;
  /** The last id sent in its catch-up (undefined before the first round). */
  cursor?: string;
  /** More retained messages follow the cursor (the last round was a full one). */
  more: boolean;
  rounds: number;
  /** Pongs in a row that found messages appended since the last round. */
  behind: number;
  /** Whether it holds the channel's appends (gateAppends) until its next pong. */
  gated: boolean;
}

/** What a subscribe token granted a connection on one private channel. */
export interface WsGrant {
  channel: string;
  /** When it ends, seconds since the epoch: the connection is closed then unless a fresh token came. */
  exp: number;
  /** The token also allowed publishing to the channel. */
  publish: boolean;
}

export interface WsSessionState {
  /** The connection's filter user (for the skip-users filter); set at OPEN. */
  user?: string;
  /** Channels whose subscribe completed. */
  subscriptions: string[];
  pending: PendingSubscribe[];
  /** The last barrier number used on this connection. */
  barrier: number;
  /** Token grants of the private channels subscribed (or being subscribed) to. */
  grants: WsGrant[];
}

/** Connection meta names (Pushpin keeps them per connection and sends them back on every request). */
export const META = { user: 'User', subscriptions: 'Subs', pending: 'Pend', barrier: 'Barrier', grants: 'Grants' } as const;

const USER = /^[A-Za-z0-9]{12}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 12 random letters and digits (71 bits): the skip-users filter compares them, so they must not collide. */
export function newFilterUser(): string {
  let user = '';
  for (const byte of randomBytes(24)) {
    if (byte < 248) user += ALPHABET[byte % 62];
    if (user.length === 12) return user;
  }
  return newFilterUser();
}

const COUNT = /^\d{1,9}$/;
const FLAG = /^[01]$/;

function parsePending(raw: string | undefined): PendingSubscribe[] {
  if (!raw) return [];
  const pending: PendingSubscribe[] = [];
  for (const entry of raw.split(',')) {
    const [channel, since, barrier, started, cursor, more, rounds, behind, gated] = entry.split(':');
    if (!channel || !isValidChannelName(channel) || !COUNT.test(barrier ?? '') || !/^\d{1,15}$/.test(started ?? '')) continue;
    if ((since && !isMessageId(since)) || (cursor && !isMessageId(cursor)) || !COUNT.test(rounds ?? '') || !COUNT.test(behind ?? '')) {
      continue;
    }
    if (!FLAG.test(gated ?? '') || !FLAG.test(more ?? '')) continue;
    if (pending.some((p) => p.channel === channel)) continue;
    pending.push({
      channel,
      ...(since ? { since } : {}),
      barrier: Number(barrier),
      startedMs: Number(started),
      ...(cursor ? { cursor } : {}),
      more: more === '1',
      rounds: Number(rounds),
      behind: Number(behind),
      gated: gated === '1',
    });
  }
  return pending;
}

function formatPending(p: PendingSubscribe): string {
  return [p.channel, p.since ?? '', p.barrier, p.startedMs, p.cursor ?? '', p.more ? 1 : 0, p.rounds, p.behind, p.gated ? 1 : 0].join(':');
}

function parseGrants(raw: string | undefined): WsGrant[] {
  const grants: WsGrant[] = [];
  for (const entry of (raw ?? '').split(',')) {
    const [channel, exp, publish] = entry.split(':');
    if (!channel || !isValidChannelName(channel) || !/^\d{1,12}$/.test(exp ?? '') || !FLAG.test(publish ?? '')) continue;
    if (grants.some((g) => g.channel === channel)) continue;
    grants.push({ channel, exp: Number(exp), publish: publish === '1' });
  }
  return grants;
}

/** Reads the state from request headers (lower-case names, as Express's req.get takes); anything malformed is dropped. */
export function readSessionState(getHeader: (header: string) => string | undefined): WsSessionState {
  const get = (name: string): string | undefined => getHeader(`meta-${name}`.toLowerCase());
  const user = get(META.user);
  const barrier = get(META.barrier);
  const subscriptions = [...new Set((get(META.subscriptions) ?? '').split(',').map((c) => c.trim()).filter(isValidChannelName))];
  return {
    ...(user && USER.test(user) ? { user } : {}),
    subscriptions,
    pending: parsePending(get(META.pending)),
    barrier: barrier && COUNT.test(barrier) ? Number(barrier) : 0,
    grants: parseGrants(get(META.grants)),
  };
}

/** The response headers that store the state in the proxy's connection meta. */
export function sessionStateHeaders(state: WsSessionState): Record<string, string> {
  return {
    [`Set-Meta-${META.user}`]: state.user ?? '',
    [`Set-Meta-${META.subscriptions}`]: state.subscriptions.join(','),
    [`Set-Meta-${META.pending}`]: state.pending.map(formatPending).join(','),
    [`Set-Meta-${META.barrier}`]: String(state.barrier),
    [`Set-Meta-${META.grants}`]: state.grants.map((g) => `${g.channel}:${g.exp}:${g.publish ? 1 : 0}`).join(','),
  };
}
