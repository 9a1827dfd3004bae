// `npm run bench -- chat [options]`: the command line, parsed with node:util parseArgs and validated
// (a bad value names the option and what it takes; nothing starts).
import { BenchOptionsError, benchCommandLine, COMMON_FLAGS, type CommonBenchOptions } from '../benchOptions.ts';
import { DEFAULT_MIX, formatMix, parseMix, type Mix } from './chatMix.ts';

export interface ChatOptions extends CommonBenchOptions {
  /** Channel counts, one point each. */
  channels: number[];
  /** Subscribers per channel. */
  subscribers: number;
  /** Messages per second on every channel. */
  rate: number;
  /** Publisher connections in all (each message one request, as a chat client posts it). */
  publishers: number;
  /** Seconds of publishing per point. */
  seconds: number;
  /** Seconds between every subscriber being live and the first publish. */
  connectedBefore: number;
  /** Transport shares of the subscribers. */
  mix: Mix;
  /** New subscriptions per second while connecting (all load processes together). */
  connectRate: number;
  /** The clients' silence check (seconds without a message before a stream asks the history); 0: the client's default. */
  silenceCheckSeconds: number;
  /** Seconds to wait for deliveries after the last publish was answered. */
  drainSeconds: number;
  /** After the drain, up to this many seconds more for the rest (0: none): when the last one arrives, if ever. */
  waitAllSeconds: number;
  /** Run Pushpin's handler at debug and count its next-link fetches per second (diagnostic: slows the handler). */
  pushpinDebug: boolean;
  /** The origin counts presence (PRESENCE_TRACKING, the origin's default; off here unless asked). */
  presence: boolean;
  socketIo: boolean;
  /** Subscriber processes; default one per 2,500 subscribers, 2 to 8. */
  loadProcesses: number | undefined;
  /** Publisher processes; default one per 1,500 msg/s, 1 to 4. */
  publisherProcesses: number | undefined;
  /** Keep the rows of <out>/latest.json this run does not measure again. */
  merge: boolean;
}

export const DEFAULT_OUT_DIR = 'bench-results/chat';
/**
 * The clients' silence check in this benchmark: longer than connecting 10,000 subscribers and a run
 * take, so the checks of clients waiting for their first message (a stream asks the history, a
 * WebSocket pings the origin) do not flood Pushpin 1.36's zurl, which carries every one of them
 * locally (~110-250 requests/s here). The client's own (30 s) took a 10,000-subscriber run down.
 */
export const DEFAULT_SILENCE_CHECK_SECONDS = 300;
/** Above Pushpin's (and the Socket.IO server's) descriptor limit here anyway; the run checks the real one. */
export const MAX_CONNECTIONS = 100_000;

/** --quick: a smoke run in seconds; explicit options still win. */
const QUICK = { channels: [10], subscribers: 4, rate: 2, publishers: 4, seconds: 3, connectedBefore: 1, drainSeconds: 10 };

export const CHAT_HELP = `Usage: npm run bench -- chat [options]

C channels with S subscribers each (a mix of transports, fanout-forward clients), every channel
publishing R messages/s through the origin's POST /api/publish from P publisher connections (one
message per request, spread evenly over each second); then the same C, S, R against a Socket.IO 4
server with rooms (publishers emit, the server relays to the room). Results: <out>/latest.json,
latest.md, latest.svg.

  --channels LIST       channel counts, comma separated (default 100,1000,5000)
  --subscribers S       subscribers per channel (default 10)
  --rate R              messages per second per channel (default 1)
  --publishers P        publisher connections in all (default 100)
  --seconds N           seconds of publishing (default 20)
  --connected-before N  seconds from the last subscriber live to the first publish (default 2)
  --mix LIST            transport shares, e.g. sse=45,ws=35,stream=18,poll=2 (default ${formatMix(DEFAULT_MIX)},
                        the fan-out benchmark's), or one transport name
  --connect-rate N      new subscriptions per second while connecting (default 100: Pushpin 1.36 sends
                        every request through zurl, ~110 a second here)
  --silence-check N     the clients' silence check, seconds (default 300; 0: the client's own, 30 s).
                        Straight to Pushpin 1.36 every check is a request through its one zurl
                        thread (a silent stream asks the history, a silent WebSocket pings the
                        origin): with 30 s, 10,000 subscribers waiting for the first publish flood it
  --drain N             seconds to wait for deliveries after the last publish (default 15)
  --wait-all N          then up to N seconds more until everything arrived (default 0); the
                        results say how many arrived within the drain and when the last one did
  --pushpin-debug       Pushpin's handler at debug level: next-link fetches per second in the results
  --presence            the origin counts presence (its own default): every WebSocket with
                        subscriptions then calls the origin once per PRESENCE_KEEP_ALIVE_SECONDS
                        (30 s), through zurl locally. Off by default: Socket.IO rooms count nothing
  --no-socket-io        skip the Socket.IO runs
  --load-processes K    subscriber processes (default one per 2,500 subscribers, 2 to 8)
  --publisher-processes K  publisher processes (default one per 1,500 msg/s, 1 to 4)
  --out DIR             results folder (default ${DEFAULT_OUT_DIR})
  --merge               keep the rows of <out>/latest.json this run does not measure again
  --quick               smoke run: 10 channels x 4 subscribers (every transport), 2 msg/s for 3 s
  -h, --help            this text
`;

export class ChatOptionsError extends BenchOptionsError {
  override name = 'ChatOptionsError';
}

const { parse, wholeNumber, number } = benchCommandLine('chat', ChatOptionsError);

export function parseChatOptions(args: string[]): ChatOptions {
  const v = parse(args, {
    ...COMMON_FLAGS,
    channels: { type: 'string' },
    subscribers: { type: 'string' },
    rate: { type: 'string' },
    publishers: { type: 'string' },
    seconds: { type: 'string' },
    'connected-before': { type: 'string' },
    mix: { type: 'string' },
    'connect-rate': { type: 'string' },
    'silence-check': { type: 'string' },
    drain: { type: 'string' },
    'wait-all': { type: 'string' },
    'pushpin-debug': { type: 'boolean' },
    presence: { type: 'boolean' },
    'no-socket-io': { type: 'boolean' },
    'load-processes': { type: 'string' },
    'publisher-processes': { type: 'string' },
    merge: { type: 'boolean' },
  });
  const quick = v.quick === true;
  const channels =
    v.channels !== undefined
      ? [...new Set(v.channels.split(',').map((s) => wholeNumber('channels', s.trim(), 1, MAX_CONNECTIONS)))]
      : quick
        ? QUICK.channels
        : [100, 1000, 5000];
  const subscribers = v.subscribers !== undefined ? wholeNumber('subscribers', v.subscribers, 1, 1000) : quick ? QUICK.subscribers : 10;
  for (const c of channels) {
    if (c * subscribers > MAX_CONNECTIONS) throw new ChatOptionsError(`${c} channels x ${subscribers} subscribers is over ${MAX_CONNECTIONS} connections`);
  }
  let mix = DEFAULT_MIX;
  if (v.mix !== undefined) {
    const read = parseMix(v.mix);
    if (typeof read === 'string') throw new ChatOptionsError(`--mix: ${read}`);
    mix = read;
  }
  return {
    channels,
    subscribers,
    rate: v.rate !== undefined ? number('rate', v.rate, 0, 100, false) : quick ? QUICK.rate : 1,
    publishers: v.publishers !== undefined ? wholeNumber('publishers', v.publishers, 1, 10_000) : quick ? QUICK.publishers : 100,
    seconds: v.seconds !== undefined ? number('seconds', v.seconds, 0, 3600, false) : quick ? QUICK.seconds : 20,
    connectedBefore: v['connected-before'] !== undefined ? number('connected-before', v['connected-before'], 0, 3600, true) : quick ? QUICK.connectedBefore : 2,
    mix,
    connectRate: v['connect-rate'] !== undefined ? wholeNumber('connect-rate', v['connect-rate'], 1, 100_000) : 100,
    silenceCheckSeconds: v['silence-check'] !== undefined ? number('silence-check', v['silence-check'], 0, 3600, true) : DEFAULT_SILENCE_CHECK_SECONDS,
    drainSeconds: v.drain !== undefined ? number('drain', v.drain, 0, 3600, true) : quick ? QUICK.drainSeconds : 15,
    waitAllSeconds: v['wait-all'] !== undefined ? number('wait-all', v['wait-all'], 0, 3600, true) : 0,
    pushpinDebug: v['pushpin-debug'] === true,
    presence: v.presence === true,
    socketIo: v['no-socket-io'] !== true,
    loadProcesses: v['load-processes'] !== undefined ? wholeNumber('load-processes', v['load-processes'], 1, 64) : undefined,
    publisherProcesses: v['publisher-processes'] !== undefined ? wholeNumber('publisher-processes', v['publisher-processes'], 1, 64) : undefined,
    outDir: v.out ?? DEFAULT_OUT_DIR,
    merge: v.merge === true,
    quick,
    help: v.help === true,
  };
}

/** Subscriber processes for N subscribers: one per 2,500, at least 2 (both cores), at most 8, never more than N. */
export function subscriberProcessesFor(subscribers: number, requested: number | undefined): number {
  return Math.max(1, Math.min(requested ?? Math.min(8, Math.max(2, Math.ceil(subscribers / 2500))), subscribers));
}

/** Publisher processes for a total rate: one per 1,500 msg/s, 1 to 4, never more than the connections or channels. */
export function publisherProcessesFor(messagesPerSecond: number, connections: number, channels: number, requested: number | undefined): number {
  return Math.max(1, Math.min(requested ?? Math.min(4, Math.max(1, Math.ceil(messagesPerSecond / 1500))), connections, channels));
}
