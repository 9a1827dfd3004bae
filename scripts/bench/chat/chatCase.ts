// One point of the chat benchmark on one system: C channels x S subscribers connected by the
// subscriber processes, `connectedBefore` seconds of quiet once all are live, then every channel
// publishing R msg/s for N seconds from the publisher processes, the drain, and the tally. Our stack
// is Pushpin (the run's profile) + the origin with its memory history; the other system the Socket.IO
// chat server. Everything it starts is stopped before it returns or throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../../stack/localStack.ts';
import { startManagedProcess } from '../../shared/managedProcess.ts';
import { findFreePort, freeStackPorts } from '../../shared/ports.ts';
import { PROJECT_ROOT } from '../../shared/projectRoot.ts';
import type { PushpinProfileName } from '../../pushpin/pushpinProfiles.ts';
import { benchPushpinProfile } from '../benchEnv.ts';
import { emptyHistogram, merge, quantileOf, type LatencyHistogram } from '../fanout/latencyHistogram.ts';
import { loadAverage, openFilesLimit, pushpinProcesses, round, startUsageWindow, sumByName, type MeasuredProcess, type ProcessUsage } from '../fanout/processUsage.ts';
import { wallClock } from '../fanout/wallClock.ts';
import type { TransportName } from '../../../client/index.ts';
import type { TransportTally } from '../../fleet/deliveryTally.ts';
import { forkChild, type ChildLink } from './childLink.ts';
import type { Mix } from './chatMix.ts';
import { publisherProcessesFor, subscriberProcessesFor } from './chatOptions.ts';
import { channelName, compositionOf, connectionsOf, membersOf, messagesOf, shareOf } from './chatPlan.ts';
import { emptyTimeline, mergeTimeline, timelinePoints, type TimelinePoint } from './latencyTimeline.ts';
import { nextLinksInLog, type NextLinkSummary } from './nextLinkLog.ts';
import type { FromPublishers, PublisherResult, ToPublishers } from './publisherProcess.ts';
import type { ChatSystem, FromSubscribers, SubscriberResult, ToSubscribers } from './subscriberProcess.ts';

export const CHAT_BENCH_TOKEN = 'chat-bench-publish-token';

const SUBSCRIBER_ENTRY = fileURLToPath(new URL('./subscriberProcess.ts', import.meta.url));
const PUBLISHER_ENTRY = fileURLToPath(new URL('./publisherProcess.ts', import.meta.url));
const SOCKET_IO_ENTRY = fileURLToPath(new URL('./socketIoChatServer.ts', import.meta.url));

export interface ChatCaseSpec {
  system: ChatSystem;
  channels: number;
  /** Per channel. */
  subscribers: number;
  rate: number;
  publishers: number;
  seconds: number;
  connectedBefore: number;
  mix: Mix;
  connectRate: number;
  /** The clients' silence check, seconds; 0: the client's default. */
  silenceCheckSeconds: number;
  drainSeconds: number;
  /** After the drain, up to this long more for the rest (0: none). */
  waitAllSeconds: number;
  pushpinDebug: boolean;
  /** Ours: the origin counts presence (PRESENCE_TRACKING). */
  presence: boolean;
  loadProcesses: number | undefined;
  publisherProcesses: number | undefined;
  log: (line: string) => void;
}

export interface Quantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface TransportRow {
  transport: TransportName | 'socket.io';
  clients: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  unexpected: number;
  duplicatesDropped: number;
  reconnects: number;
  resets: number;
  recoveries: TransportTally['recoveries'];
  latencyMs: Quantiles;
}

export interface ChatCaseResult {
  system: ChatSystem;
  /** Ours: the Pushpin profile. */
  pushpinProfile?: PushpinProfileName;
  channels: number;
  subscribersPerChannel: number;
  subscribers: number;
  rate: number;
  publishers: number;
  seconds: number;
  connectedBefore: number;
  /** Ours: the clients' silence check, seconds (undefined: the client's default). */
  silenceCheckSeconds?: number;
  /** Ours: whether the origin counted presence. */
  presence?: boolean;
  composition: Partial<Record<TransportName | 'socket.io', number>>;
  loadAverageBefore: [number, number, number];
  /** At the first publish. */
  loadAverageAtPublish: [number, number, number];
  loadAverageAfter: [number, number, number];
  connect: { seconds: number; perSecond: number; notLive: number };
  publish: {
    scheduled: number;
    sent: number;
    accepted: number;
    failed: number;
    failureReasons?: Record<string, number>;
    /** Accepted publishes per second, from the first publish to the last answer. */
    acceptedPerSecond: number;
    answerMs: Quantiles;
    /** How far behind schedule the publisher processes sent (their own lag, for judging the rate they offered). */
    publisherLateMs: { p99: number; max: number };
  };
  expected: number;
  /** Delivered by the end of the drain (what lost and the rates count against). */
  receivedWithinDrain: number;
  /** Delivered by the end (after --wait-all, if given: the figures per transport too). */
  received: number;
  /** Expected but not delivered by the end. */
  lost: number;
  /** Seconds from the last publish's answer to the last first arrival. */
  lastDeliveryAfterLastPublishS: number;
  /** Handed on twice or out of order (a client bug; must be 0). */
  duplicated: number;
  /** Duplicates the clients dropped by id (the proxy or a replay sent them twice). */
  duplicatesDropped: number;
  deliveriesPerSecond: number;
  latencyMs: Quantiles;
  /** Latency by the second a message was published in. */
  timeline: TimelinePoint[];
  byTransport: TransportRow[];
  /** CPU seconds from the first publish to the end of the drain, and peak RSS, per process. */
  processes: ProcessUsage[];
  /** Ours: what reached the origin from the first publish to the end of the drain. */
  originDuringWindow?: { holdsOpened: Record<string, number> };
  /** Ours, with --pushpin-debug: next-link fetches seen in Pushpin's handler log. */
  nextLinks?: NextLinkSummary;
  /** A few of the subscribers that missed something, when any did. */
  misses?: string[];
}

interface SystemUnderTest {
  subscribeUrl: string;
  headers: Record<string, string>;
  publishUrl: string;
  measured: MeasuredProcess[];
  originMetricsUrl?: string;
  pushpinLog?: string;
  pushpinProfile?: PushpinProfileName;
  logDir?: string;
  stop(): Promise<void>;
}

/** Descriptors a process needs beyond one per connection. */
const FD_HEADROOM = 512;

/** The descriptors the process holding every connection needs (condure, or the Socket.IO server with its publishers). */
export function descriptorsNeeded(spec: Pick<ChatCaseSpec, 'system' | 'channels' | 'subscribers' | 'publishers'>): number {
  return spec.channels * spec.subscribers + (spec.system === 'socketio' ? spec.publishers : 0) + FD_HEADROOM;
}

export function assertDescriptors(spec: Pick<ChatCaseSpec, 'system' | 'channels' | 'subscribers' | 'publishers'>): void {
  const limit = openFilesLimit();
  const needed = descriptorsNeeded(spec);
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `${spec.channels} channels x ${spec.subscribers} subscribers need at least ${needed} open files in the process holding the connections ` +
        `(${spec.system === 'stack' ? "Pushpin's condure" : 'the Socket.IO server'}), and this shell allows ${limit} (the hard limit, \`ulimit -Hn\`, caps \`ulimit -n\`). ` +
        'Use fewer subscribers per channel or fewer channels.',
    );
  }
}

async function startOurs(spec: ChatCaseSpec, perChannel: number): Promise<SystemUnderTest> {
  const logDir = mkdtempSync(join(tmpdir(), 'bench-chat-'));
  const stack = await startLocalStack({
    pushpinProfile: benchPushpinProfile(),
    ports: await freeStackPorts(),
    pushpin: true,
    ...(spec.pushpinDebug ? { pushpinLogLevel: 'pushpin-handler:3' } : {}),
    originEnv: {
      PUBLISH_TOKEN: CHAT_BENCH_TOKEN,
      LOG_LEVEL: 'warn',
      // Presence costs a request per WebSocket per PRESENCE_KEEP_ALIVE_SECONDS (through zurl here):
      // at 1,000 x 10 that took Pushpin's proxy from 15 to 27 CPU s a run (benchmarks.md, Chat).
      PRESENCE_TRACKING: spec.presence ? 'true' : 'false',
      // Everything a run publishes stays retained: a client that reconnects late still recovers.
      HISTORY_MAX_MESSAGES: String(Math.max(1000, perChannel + 100)),
    },
    logDir,
    echo: false,
    log: () => {},
  });
  let pushpin: MeasuredProcess[];
  try {
    pushpin = pushpinProcesses(stack.pids.pushpin);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return {
    subscribeUrl: stack.urls.pushpinProxy,
    headers: { 'pushpin-route': 'origin' },
    publishUrl: stack.urls.origin,
    measured: [...pushpin, { name: 'origin', pid: stack.pids.origin }],
    originMetricsUrl: `${stack.urls.origin}/metrics`,
    ...(stack.logFiles.pushpin ? { pushpinLog: stack.logFiles.pushpin } : {}),
    pushpinProfile: stack.pushpinProfile,
    logDir,
    stop: () => stack.stop(),
  };
}

async function startSocketIo(perChannel: number): Promise<SystemUnderTest> {
  const port = await findFreePort();
  const server = await startManagedProcess({
    name: 'socket.io',
    command: process.execPath,
    args: ['--import', 'tsx', SOCKET_IO_ENTRY, '--port', String(port), '--history', String(Math.max(1000, perChannel + 100))],
    cwd: PROJECT_ROOT,
    ready: /listening on/,
    readyTimeoutMs: 30_000,
    echo: false,
  });
  const url = `http://127.0.0.1:${port}`;
  return { subscribeUrl: url, headers: {}, publishUrl: url, measured: [{ name: 'socket.io server', pid: server.pid }], stop: () => server.stop() };
}

/** `name{transport="sse"} 12` samples of one counter, by their first label's value. */
export function countersByLabel(metrics: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const label = /\{[a-z_]+="([^"]*)"/.exec(line)?.[1] ?? '';
    out[label] = (out[label] ?? 0) + (Number(line.slice(line.lastIndexOf(' ') + 1)) || 0);
  }
  return out;
}

async function originHolds(url: string | undefined): Promise<Record<string, number> | undefined> {
  if (!url) return undefined;
  const text = await (await fetch(url, { headers: { Authorization: `Bearer ${CHAT_BENCH_TOKEN}` } })).text();
  return countersByLabel(text, 'origin_holds_opened_total');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function quantiles(h: LatencyHistogram): Quantiles {
  return {
    p50: round(quantileOf(h, 0.5), 1),
    p90: round(quantileOf(h, 0.9), 1),
    p99: round(quantileOf(h, 0.99), 1),
    max: round(h.count > 0 ? h.max : Number.NaN, 1),
    mean: round(h.count > 0 ? h.sum / h.count : Number.NaN, 1),
  };
}

export async function runChatCase(spec: ChatCaseSpec): Promise<ChatCaseResult> {
  const loadAverageBefore = loadAverage();
  assertDescriptors(spec);
  const total = spec.channels * spec.subscribers;
  const perChannel = messagesOf(1, spec.rate, spec.seconds);
  const members = membersOf(spec.channels, spec.subscribers, spec.mix);
  const composition: ChatCaseResult['composition'] = spec.system === 'socketio' ? { 'socket.io': total } : compositionOf(members);
  const subscriberProcesses = subscriberProcessesFor(total, spec.loadProcesses);
  const publisherProcesses = publisherProcessesFor(spec.channels * spec.rate, spec.publishers, spec.channels, spec.publisherProcesses);
  const sut = spec.system === 'socketio' ? await startSocketIo(perChannel) : await startOurs(spec, perChannel);
  const subscribers: Array<ChildLink<ToSubscribers, FromSubscribers>> = [];
  const publishers: Array<ChildLink<ToPublishers, FromPublishers>> = [];
  let failed = true;
  try {
    const connectTimeoutMs = Math.max(60_000, (3 * total * 1000) / spec.connectRate);
    spec.log(
      `  connecting ${total} subscribers (${Object.entries(composition).map(([t, n]) => `${n} ${t}`).join(', ')}) at ${spec.connectRate}/s ` +
        `from ${subscriberProcesses} processes; ${spec.publishers} publisher connections in ${publisherProcesses} processes`,
    );
    const live = new Map<number, number>();
    for (let k = 0; k < subscriberProcesses; k++) {
      const link = forkChild<ToSubscribers, FromSubscribers>(SUBSCRIBER_ENTRY, `subscriber process ${k}`);
      subscribers.push(link);
      link.on('live', (m) => live.set(k, m.live));
      link.send({
        type: 'start',
        plan: {
          system: spec.system,
          url: sut.subscribeUrl,
          headers: sut.headers,
          members: shareOf(members, k, subscriberProcesses),
          since: '0',
          connectPerSecond: spec.connectRate / subscriberProcesses,
          ...(spec.silenceCheckSeconds > 0 ? { silenceCheckMs: spec.silenceCheckSeconds * 1000 } : {}),
          connectTimeoutMs,
        },
      });
    }
    const channelIndexes = Array.from({ length: spec.channels }, (_, i) => i);
    for (let k = 0; k < publisherProcesses; k++) {
      const link = forkChild<ToPublishers, FromPublishers>(PUBLISHER_ENTRY, `publisher process ${k}`);
      publishers.push(link);
      link.send({
        type: 'start',
        plan: {
          system: spec.system,
          url: sut.publishUrl,
          token: CHAT_BENCH_TOKEN,
          channels: shareOf(channelIndexes, k, publisherProcesses),
          totalChannels: spec.channels,
          rate: spec.rate,
          seconds: spec.seconds,
          connections: connectionsOf(spec.publishers, k, publisherProcesses),
        },
      });
    }
    const progressLog = setInterval(() => {
      spec.log(`  ... ${[...live.values()].reduce((a, b) => a + b, 0)} of ${total} live`);
    }, 10_000);
    let connected;
    try {
      connected = await Promise.all(subscribers.map((s) => s.next('connected', connectTimeoutMs + 60_000)));
    } finally {
      clearInterval(progressLog);
    }
    await Promise.all(publishers.map((p) => p.next('ready', 60_000)));
    const notLive = connected.reduce((n, c) => n + c.notLive, 0);
    const connectSeconds = Math.max(...connected.map((c) => c.connectMs)) / 1000;
    spec.log(`  ${total - notLive} live in ${connectSeconds.toFixed(1)} s (${Math.round((total - notLive) / connectSeconds)}/s)${notLive > 0 ? `, ${notLive} NOT live` : ''}; publishing in ${spec.connectedBefore} s`);
    await sleep(spec.connectedBefore * 1000);

    const delivered = new Map<number, number>();
    subscribers.forEach((s, k) => s.on('progress', (m) => delivered.set(k, m.delivered)));
    const measured = [
      ...sut.measured,
      ...subscribers.map((s) => ({ name: 'subscriber load', pid: s.pid })),
      ...publishers.map((p) => ({ name: 'publisher load', pid: p.pid })),
    ];
    const holdsBefore = await originHolds(sut.originMetricsUrl);
    const usage = startUsageWindow(measured);
    const loadAverageAtPublish = loadAverage();
    const startAt = wallClock() + 300;
    for (const s of subscribers) s.send({ type: 'begin', startAt });
    for (const p of publishers) p.send({ type: 'go', startAt });
    // Publishers send on schedule and wait for every answer: when the system under test falls behind,
    // the last answers come long after the schedule ends (at C = 1,000 on a loaded box, past 140 s).
    // Waiting that out gives a row (accepted/s tells how far behind) instead of no result.
    const done = (await Promise.all(publishers.map((p) => p.next('done', (spec.seconds * 10 + 120) * 1000)))).map((d) => d.result);
    const accepted = done.reduce((n, r) => n + [...r.ids.values()].reduce((m, ids) => m + ids.length, 0), 0);
    const expected = accepted * spec.subscribers;
    const lastAnswer = Math.max(...done.map((r) => r.lastAnsweredAt));
    const drainUntil = Math.max(lastAnswer, wallClock()) + spec.drainSeconds * 1000;
    const sum = (): number => [...delivered.values()].reduce((a, b) => a + b, 0);
    while (sum() < expected && wallClock() < drainUntil) await sleep(100);
    const processes = sumByName(usage());
    const holdsAfter = await originHolds(sut.originMetricsUrl);
    const receivedWithinDrain = sum();
    const drainEndAt = wallClock();
    if (spec.waitAllSeconds > 0 && receivedWithinDrain < expected) {
      spec.log(`  ${receivedWithinDrain} of ${expected} within the drain; waiting up to ${spec.waitAllSeconds} s more for the rest`);
      const until = wallClock() + spec.waitAllSeconds * 1000;
      while (sum() < expected && wallClock() < until) await sleep(200);
    }
    const expectedIds = new Map<string, number[]>();
    for (const r of done) for (const [channel, ids] of r.ids) expectedIds.set(channel, ids);
    for (let i = 0; i < spec.channels; i++) if (!expectedIds.has(channelName(i))) expectedIds.set(channelName(i), []);
    const parts: SubscriberResult[] = [];
    for (const s of subscribers) {
      s.send({ type: 'finish', expected: expectedIds });
      parts.push((await s.next('result', 120_000)).result);
    }
    const nextLinks = spec.pushpinDebug && sut.pushpinLog ? await nextLinksInLog(sut.pushpinLog, startAt) : undefined;
    failed = false;
    return summarise({ spec, sut, total, composition, loadAverageBefore, loadAverageAtPublish, connectSeconds, notLive, done, parts, startAt, processes, holdsBefore, holdsAfter, nextLinks, receivedWithinDrain, drainEndAt });
  } finally {
    await Promise.all([...subscribers.map((s) => s.stop({ type: 'stop' })), ...publishers.map((p) => p.stop({ type: 'stop' }))]);
    await sut.stop();
    if (sut.logDir && !failed && !spec.pushpinDebug) rmSync(sut.logDir, { recursive: true, force: true });
    else if (sut.logDir) spec.log(`  the stack's logs: ${sut.logDir}`);
  }
}

interface Collected {
  spec: ChatCaseSpec;
  sut: SystemUnderTest;
  total: number;
  composition: ChatCaseResult['composition'];
  loadAverageBefore: [number, number, number];
  loadAverageAtPublish: [number, number, number];
  connectSeconds: number;
  notLive: number;
  done: PublisherResult[];
  parts: SubscriberResult[];
  startAt: number;
  processes: ProcessUsage[];
  holdsBefore: Record<string, number> | undefined;
  holdsAfter: Record<string, number> | undefined;
  nextLinks: NextLinkSummary | undefined;
  receivedWithinDrain: number;
  drainEndAt: number;
}

function summarise(c: Collected): ChatCaseResult {
  const { spec } = c;
  const answerMs = emptyHistogram();
  const lateMs = emptyHistogram();
  const failureReasons: Record<string, number> = {};
  let sent = 0;
  let failures = 0;
  let accepted = 0;
  for (const r of c.done) {
    merge(answerMs, r.answerMs);
    merge(lateMs, r.lateMs);
    sent += r.sent;
    failures += r.failures;
    for (const ids of r.ids.values()) accepted += ids.length;
    for (const [why, n] of Object.entries(r.failureReasons)) failureReasons[why] = (failureReasons[why] ?? 0) + n;
  }
  const lastAnswer = Math.max(...c.done.map((r) => r.lastAnsweredAt));
  const timeline = emptyTimeline(c.startAt);
  const byTransport = new Map<string, Omit<TransportRow, 'latencyMs'>>();
  let lastAt = -Infinity;
  const misses: string[] = [];
  for (const part of c.parts) {
    mergeTimeline(timeline, part.timeline);
    lastAt = Math.max(lastAt, part.lastAt);
    if (part.misses) misses.push(part.misses);
    for (const t of part.tallies) {
      const name = spec.system === 'socketio' ? 'socket.io' : t.transport;
      const row: Omit<TransportRow, 'latencyMs'> = byTransport.get(name) ?? {
        transport: name,
        clients: 0,
        expected: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        outOfOrder: 0,
        unexpected: 0,
        duplicatesDropped: 0,
        reconnects: 0,
        resets: 0,
        recoveries: {},
      };
      row.clients += t.clients;
      row.expected += t.expected;
      row.delivered += t.delivered;
      row.lost += t.lost;
      row.duplicated += t.duplicated;
      row.outOfOrder += t.outOfOrder;
      row.unexpected += t.unexpected;
      row.duplicatesDropped += t.duplicatesDropped;
      row.reconnects += t.reconnects;
      row.resets += t.resets;
      for (const [reason, n] of Object.entries(t.recoveries)) row.recoveries[reason as keyof TransportRow['recoveries']] = (row.recoveries[reason as keyof TransportRow['recoveries']] ?? 0) + (n ?? 0);
      byTransport.set(name, row);
    }
  }
  const latencies = new Map<string, LatencyHistogram>();
  for (const part of c.parts) {
    for (const [t, h] of Object.entries(part.latencyByTransport)) {
      const into = latencies.get(t) ?? emptyHistogram();
      merge(into, h);
      latencies.set(t, into);
    }
  }
  const rows = [...byTransport.values()].map((row) => ({ ...row, latencyMs: quantiles(latencies.get(row.transport) ?? emptyHistogram()) }));
  const received = rows.reduce((n, r) => n + r.delivered, 0);
  const holdsOpened =
    c.holdsBefore && c.holdsAfter
      ? Object.fromEntries(Object.entries(c.holdsAfter).map(([t, n]) => [t, n - (c.holdsBefore![t] ?? 0)]))
      : undefined;
  return {
    system: spec.system,
    ...(spec.system === 'stack' && c.sut.pushpinProfile ? { pushpinProfile: c.sut.pushpinProfile } : {}),
    channels: spec.channels,
    subscribersPerChannel: spec.subscribers,
    subscribers: c.total,
    rate: spec.rate,
    publishers: spec.publishers,
    seconds: spec.seconds,
    connectedBefore: spec.connectedBefore,
    ...(spec.system === 'stack' && spec.silenceCheckSeconds > 0 ? { silenceCheckSeconds: spec.silenceCheckSeconds } : {}),
    ...(spec.system === 'stack' ? { presence: spec.presence } : {}),
    composition: c.composition,
    loadAverageBefore: c.loadAverageBefore,
    loadAverageAtPublish: c.loadAverageAtPublish,
    loadAverageAfter: loadAverage(),
    connect: { seconds: round(c.connectSeconds, 1), perSecond: round((c.total - c.notLive) / c.connectSeconds, 0), notLive: c.notLive },
    publish: {
      scheduled: messagesOf(spec.channels, spec.rate, spec.seconds),
      sent,
      accepted,
      failed: failures,
      ...(failures > 0 ? { failureReasons } : {}),
      acceptedPerSecond: round(accepted / Math.max(0.001, (lastAnswer - c.startAt) / 1000), 0),
      answerMs: quantiles(answerMs),
      publisherLateMs: { p99: round(quantileOf(lateMs, 0.99), 1), max: round(lateMs.max, 1) },
    },
    expected: accepted * spec.subscribers,
    receivedWithinDrain: Math.min(c.receivedWithinDrain, received),
    received,
    lost: rows.reduce((n, r) => n + r.lost, 0),
    lastDeliveryAfterLastPublishS: round((lastAt - lastAnswer) / 1000, 1),
    duplicated: rows.reduce((n, r) => n + r.duplicated + r.outOfOrder, 0),
    duplicatesDropped: rows.reduce((n, r) => n + r.duplicatesDropped, 0),
    // Within the drain: from the first publish to the last delivery (or the drain's end).
    deliveriesPerSecond: round(Math.min(c.receivedWithinDrain, received) / Math.max(0.001, (Math.min(lastAt, c.drainEndAt) - c.startAt) / 1000), 0),
    latencyMs: quantiles(timeline.overall),
    timeline: timelinePoints(timeline),
    byTransport: rows,
    processes: c.processes,
    ...(holdsOpened ? { originDuringWindow: { holdsOpened } } : {}),
    ...(c.nextLinks ? { nextLinks: c.nextLinks } : {}),
    ...(misses.length > 0 ? { misses } : {}),
  };
}
