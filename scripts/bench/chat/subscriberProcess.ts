// A chat benchmark load process holding subscribers: for our stack a fleet of fanout-forward clients
// (scripts/fleet: every rule of the guarantee is the client's), for Socket.IO socket.io-client sockets
// that join their room and resubscribe from their last id after a reconnect. It connects its share at
// the given rate, reports when all are live, counts deliveries (the latency of each first arrival,
// against the publisher's clock carried in the message), and at the end tallies them against the ids
// the publishers were answered with. Started by chatCase.ts through childLink.ts; exits when the IPC
// channel closes.
import { createFleet, type Fleet, type FleetMember } from '../../fleet/fleet.ts';
import { describeMisses, tallyDeliveries, tallyFailed, type TalliedMember, type TransportTally } from '../../fleet/deliveryTally.ts';
import { emptyHistogram, record, type LatencyHistogram } from '../fanout/latencyHistogram.ts';
import { wallClock } from '../fanout/wallClock.ts';
import { emptyTimeline, recordDelivery, type LatencyTimeline } from './latencyTimeline.ts';
import type { MemberPlan } from './chatPlan.ts';
import { createSocketIoMember, type SocketIoMember } from './socketIoMember.ts';
import type { Message } from '../../../client/index.ts';

export type ChatSystem = 'stack' | 'socketio';

export interface SubscriberPlan {
  system: ChatSystem;
  /** Pushpin's proxy (or the edge), or the Socket.IO server. */
  url: string;
  headers: Record<string, string>;
  members: MemberPlan[];
  /** Where every subscriber starts: "0" on a fresh channel, so every message published must arrive. */
  since: string;
  /** New subscriptions per second from this process. */
  connectPerSecond: number;
  /** Not all live after this long: reported as not live (they keep trying). */
  connectTimeoutMs: number;
  /** The clients' silence check (default: the client's). */
  silenceCheckMs?: number;
}

export type ToSubscribers =
  | { type: 'start'; plan: SubscriberPlan }
  /** Publishing starts at this wall-clock ms: latencies are grouped by the second after it they were published in. */
  | { type: 'begin'; startAt: number }
  /** The ids each channel's publishes were answered with (channel name -> ids, ascending). */
  | { type: 'finish'; expected: Map<string, number[]> }
  | { type: 'stop' };

export interface SubscriberResult {
  tallies: TransportTally[];
  timeline: LatencyTimeline;
  /** Latency per transport. */
  latencyByTransport: Record<string, LatencyHistogram>;
  /** Wall-clock ms of the first and last first arrival. */
  firstAt: number;
  lastAt: number;
  /** What went missing, for the log, when anything did (describeMisses). */
  misses?: string;
}

export type FromSubscribers =
  | { type: 'live'; live: number; total: number }
  | { type: 'connected'; live: number; notLive: number; connectMs: number }
  | { type: 'progress'; delivered: number }
  | { type: 'result'; result: SubscriberResult }
  | { type: 'failed'; message: string };

/** To the benchmark, while it is there (a stopped benchmark is no error). */
const send = (message: FromSubscribers): void => {
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
};

let timeline = emptyTimeline();
const latencyByTransport: Record<string, LatencyHistogram> = {};
let firstAt = Infinity;
let lastAt = -Infinity;
let delivered = 0;
let fleet: Fleet | undefined;
const socketIoMembers: SocketIoMember[] = [];
let progress: NodeJS.Timeout | undefined;

/** A first arrival of a stored message: its latency counts. */
function arrived(transport: string, sentAt: unknown): void {
  if (typeof sentAt !== 'number') return;
  const now = wallClock();
  recordDelivery(timeline, sentAt, now);
  record((latencyByTransport[transport] ??= emptyHistogram()), now - sentAt);
  delivered++;
  if (now < firstAt) firstAt = now;
  if (now > lastAt) lastAt = now;
}

function sentAtOf(data: unknown): unknown {
  return typeof data === 'object' && data !== null ? (data as { sentAt?: unknown }).sentAt : undefined;
}

function members(): TalliedMember[] {
  return fleet ? [...fleet.members] : socketIoMembers;
}

async function connectAll(plan: SubscriberPlan): Promise<void> {
  const started = performance.now();
  // Ramp: a tenth of a second's worth at a time.
  const batch = Math.max(1, Math.round(plan.connectPerSecond / 10));
  const pauseMs = (1000 * batch) / plan.connectPerSecond;
  if (plan.system === 'stack') {
    const seen = new WeakMap<FleetMember, number>();
    fleet = createFleet({
      url: plan.url,
      headers: plan.headers,
      ...(plan.silenceCheckMs !== undefined ? { client: { silenceCheckMs: plan.silenceCheckMs } } : {}),
      onMessage: (member: FleetMember, message: Message) => {
        if (message.id === undefined) return;
        // The fleet has counted it: a first arrival grew the member's ids.
        const before = seen.get(member) ?? 0;
        if (member.ids.size === before) return;
        seen.set(member, member.ids.size);
        arrived(member.transport, sentAtOf(message.data));
      },
    });
    const ramp = fleet.addRamped(
      plan.members.map((m) => ({ transport: m.transport, channel: m.channel, since: plan.since })),
      { batch, pauseMs },
    );
    await reportUntilLive(ramp, () => fleet!.liveCount(), plan);
  } else {
    const ramp = (async () => {
      for (let i = 0; i < plan.members.length; i += batch) {
        if (i > 0) await new Promise((r) => setTimeout(r, pauseMs));
        for (const m of plan.members.slice(i, i + batch)) {
          socketIoMembers.push(createSocketIoMember({ url: plan.url, channel: m.channel, since: plan.since, onFirstArrival: (data) => arrived('socket.io', sentAtOf(data)) }));
        }
      }
    })();
    await reportUntilLive(ramp, () => socketIoMembers.reduce((n, m) => n + (m.live ? 1 : 0), 0), plan);
  }
  const live = members().filter((m) => m.live).length;
  send({ type: 'connected', live, notLive: plan.members.length - live, connectMs: performance.now() - started });
  progress = setInterval(() => send({ type: 'progress', delivered }), 250);
}

async function reportUntilLive(ramp: Promise<unknown>, liveCount: () => number, plan: SubscriberPlan): Promise<void> {
  const deadline = performance.now() + plan.connectTimeoutMs;
  let rampDone = false;
  void ramp.then(() => (rampDone = true));
  let lastReport = 0;
  for (;;) {
    const live = liveCount();
    if (rampDone && live >= plan.members.length) return;
    if (performance.now() > deadline) return;
    if (performance.now() - lastReport >= 1000) {
      send({ type: 'live', live, total: plan.members.length });
      lastReport = performance.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function finish(expected: Map<string, number[]>): void {
  clearInterval(progress);
  const all = members();
  const want = new Map([...expected].map(([channel, ids]) => [channel, new Set(ids)]));
  const tallies = tallyDeliveries(all, want);
  const result: SubscriberResult = { tallies, timeline, latencyByTransport, firstAt, lastAt };
  if (tallies.some(tallyFailed)) result.misses = describeMisses(all, want, 2);
  send({ type: 'result', result });
}

function stopAll(): void {
  clearInterval(progress);
  fleet?.close();
  for (const m of socketIoMembers) m.close();
}

process.on('message', (message: ToSubscribers) => {
  if (message.type === 'start') {
    connectAll(message.plan).catch((error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }));
  } else if (message.type === 'begin') {
    timeline = emptyTimeline(message.startAt);
  } else if (message.type === 'finish') {
    try {
      finish(message.expected);
    } catch (error) {
      send({ type: 'failed', message: (error as Error).stack ?? String(error) });
    }
  } else if (message.type === 'stop') {
    stopAll();
    process.disconnect();
    // Open sockets go with the process; no need to wait for every close handshake.
    setTimeout(() => process.exit(0), 200).unref();
  }
});

// The benchmark is gone (finished, crashed or killed): so are we.
process.on('disconnect', () => process.exit(0));
if (!process.connected) {
  console.error('subscriberProcess.ts is started by the chat benchmark (it needs an IPC channel)');
  process.exit(2);
}
