// A fleet of simulated users for the soak, the fault suite and the benchmarks: each member is one
// fanout-forward client (client/) with one subscription, so every rule of the delivery guarantee
// (positions, resume, gap rule, silence checks, dedupe, resets, backoff) is the client's own; the fleet
// only counts what each subscription handed the application. Cheap enough for thousands of members in
// one process: ids are kept as runs (idRuns.ts), one listener per event, no timer of its own.
import WebSocket from 'ws';
import {
  createClient,
  type ClientOptions,
  type FanoutClient,
  type Message,
  type SubscriptionError,
  type SubscriptionStateName,
  type SubscriptionStats,
  type Subscription,
  type TransportName,
} from '../../client/index.ts';
import { nodeHttpFetch } from '../client/nodeHttpFetch.ts';
import { IdRuns } from './idRuns.ts';

export interface FleetOptions {
  /** The proxy or the edge, e.g. http://127.0.0.1:7677. */
  url: string;
  /** On every request and handshake: `{ 'pushpin-route': 'origin' }` when talking straight to Pushpin. */
  headers?: Record<string, string>;
  /**
   * Anything else for every member's createClient (e.g. shorter `idleTimeoutMs` for a test). The
   * fleet's defaults: `ws` with perMessageDeflate off, nodeHttpFetch, backoff 200 ms to 3 s.
   */
  client?: Omit<ClientOptions, 'url' | 'transport' | 'headers'>;
  /** State changes, recoveries, resets and errors kept per member for a failing case's report (default 12). */
  historyLength?: number;
  /** Called for every message a member hands on, after it is counted (a benchmark's latency, say). */
  onMessage?: (member: FleetMember, message: Message) => void;
}

export interface MemberSpec {
  transport: TransportName;
  channel: string;
  /** Where to start ("0": everything retained); default: live from the channel's position. */
  since?: string;
}

export interface FleetMember {
  readonly transport: TransportName;
  readonly channel: string;
  /** The ids the subscription handed on (the application's view), once each. */
  readonly ids: IdRuns;
  /** Ids handed on again after they had been: a client bug, must stay 0. */
  readonly repeated: number;
  /** Ids handed on below one handed on earlier: a client bug, must stay 0. */
  readonly outOfOrder: number;
  /** Messages without an id (published straight to the proxy): handed on, not recorded. */
  readonly liveOnly: number;
  /**
   * The client's counters: messages, `duplicates` (sent by the proxy, dropped by the client), resets,
   * reconnects, connectFailures, recoveries by reason.
   */
  readonly stats: Readonly<SubscriptionStats>;
  readonly state: SubscriptionStateName;
  /** Subscribed with a known position, right now (a long-poll: between its polls too). */
  readonly live: boolean;
  /** Resolves once first subscribed with a known position; rejects when the subscription fails first. */
  readonly ready: Promise<void>;
  /** The position it resumes from. */
  readonly position: string | undefined;
  /** Set when the subscription ended for good (a final subscribe error). */
  readonly error: SubscriptionError | undefined;
  /** Its last state changes, recoveries, resets and errors, oldest first, stamped with seconds since the fleet began. */
  readonly history: readonly string[];
  /** Drops its connection as a network would (a WebSocket: every channel on it); it comes back by itself. */
  cut(): void;
  /** Stops reading for `ms` at most (a slow consumer); the function resumes at once; undefined when it cannot pause now. */
  stall(ms: number): (() => void) | undefined;
  close(): void;
}

export interface Fleet {
  readonly members: readonly FleetMember[];
  add(spec: MemberSpec): FleetMember;
  /**
   * Adds `specs` `batch` at a time with `pauseMs` between batches: a burst of new connections makes
   * Pushpin 1.36 answer some with 502 (FACTS.md), and new WebSockets faster than ~40 a second did here.
   */
  addRamped(specs: readonly MemberSpec[], ramp: { batch: number; pauseMs: number }): Promise<FleetMember[]>;
  /** Members live now. */
  liveCount(): number;
  /** Until every member is live; throws after `timeoutMs`, naming who is not and what happened to one of them. */
  untilLive(timeoutMs: number): Promise<void>;
  close(): void;
}

/** What the fleet passes every client unless `options.client` says otherwise (the README's harness settings). */
const FLEET_CLIENT_DEFAULTS = {
  backoff: { baseMs: 200, maxMs: 3000 },
  // The fleet measures delivery: thousands of stream members renewing presence leases (one request
  // each 10 s) would add origin traffic that on Pushpin 1.36 all goes through zurl's one thread.
  presenceLeases: false,
  webSocketOptions: { perMessageDeflate: false },
} as const satisfies Partial<ClientOptions>;

class Member implements FleetMember {
  readonly ids = new IdRuns();
  repeated = 0;
  outOfOrder = 0;
  liveOnly = 0;
  error: SubscriptionError | undefined;
  readonly history: string[] = [];

  constructor(
    readonly transport: TransportName,
    readonly channel: string,
    private readonly client: FanoutClient,
    private readonly sub: Subscription,
    private readonly note: (member: Member, line: string) => void,
    onMessage: FleetOptions['onMessage'],
  ) {
    sub.on('message', (m) => {
      if (m.id === undefined) this.liveOnly++;
      else {
        const arrival = this.ids.add(Number(m.id));
        if (arrival === 'repeat') this.repeated++;
        else if (arrival === 'out-of-order') this.outOfOrder++;
        if (arrival !== 'next') note(this, `handed on ${m.id} ${arrival === 'repeat' ? 'again' : 'out of order'}`);
      }
      onMessage?.(this, m);
    });
    sub.on('state', (s) => note(this, `${s.state} ${s.transport}`));
    sub.on('recovering', (r) => note(this, `recovering (${r.reason}) from ${r.position ?? 'no position'}${r.detail ? `: ${r.detail}` : ''}`));
    sub.on('reset', (r) => note(this, `reset (${r.reason}) since ${r.since}, continuing after ${r.after}`));
    sub.on('error', (e) => {
      this.error = e;
      note(this, `error ${e.code}: ${e.message}`);
    });
  }

  get stats(): Readonly<SubscriptionStats> {
    return this.sub.stats;
  }
  get state(): SubscriptionStateName {
    return this.sub.state;
  }
  get live(): boolean {
    return this.sub.state === 'open';
  }
  get ready(): Promise<void> {
    return this.sub.ready;
  }
  get position(): string | undefined {
    return this.sub.position;
  }
  cut(): void {
    this.sub.testing.cut();
  }
  stall(ms: number): (() => void) | undefined {
    return this.sub.testing.stall(ms);
  }
  close(): void {
    this.client.close();
  }
}

export function createFleet(options: FleetOptions): Fleet {
  const members: Member[] = [];
  const began = Date.now();
  const keep = options.historyLength ?? 12;
  const fetch = options.client?.fetch ?? nodeHttpFetch();
  const note = (member: Member, line: string): void => {
    member.history.push(`${((Date.now() - began) / 1000).toFixed(1)}s ${line}`);
    if (member.history.length > keep) member.history.shift();
  };
  const add = (spec: MemberSpec): FleetMember => {
    // One client per simulated user: its own connections, backoff and timer, as a user's page has.
    const client = createClient({
      ...FLEET_CLIENT_DEFAULTS,
      WebSocket,
      ...options.client,
      fetch,
      url: options.url,
      transport: spec.transport,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const sub = client.subscribe(spec.channel, spec.since === undefined ? {} : { since: spec.since });
    const member = new Member(spec.transport, spec.channel, client, sub, note, options.onMessage);
    members.push(member);
    return member;
  };
  return {
    members,
    add,
    async addRamped(specs, ramp) {
      const added: FleetMember[] = [];
      for (let i = 0; i < specs.length; i += ramp.batch) {
        if (i > 0) await new Promise((r) => setTimeout(r, ramp.pauseMs));
        for (const spec of specs.slice(i, i + ramp.batch)) added.push(add(spec));
      }
      return added;
    },
    liveCount: () => members.reduce((n, m) => n + (m.live ? 1 : 0), 0),
    async untilLive(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (members.some((m) => !m.live)) {
        if (Date.now() > deadline) {
          const down = members.filter((m) => !m.live);
          const byTransport = [...new Set(down.map((m) => m.transport))].map((t) => `${t} ${down.filter((m) => m.transport === t).length}`);
          throw new Error(
            `${down.length} of ${members.length} fleet members not live after ${timeoutMs} ms (${byTransport.join(', ')}); ` +
              `one of them (${down[0]!.transport} on ${down[0]!.channel}, ${down[0]!.state}): ${down[0]!.history.join(' | ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close() {
      for (const member of members) member.close();
    },
  };
}
