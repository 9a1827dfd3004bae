// What a plain subscriber handed its application, kept as the fleet keeps it for the client library
// (id runs, repeats, order; scripts/fleet), so one tally (deliveryTally.ts) counts both sides alike.
// The plain subscribers themselves check nothing: this only watches what they pass on.
import type { SubscriptionStats, TransportName } from '../../../client/index.ts';
import type { TalliedMember } from '../../fleet/deliveryTally.ts';
import { IdRuns } from '../../fleet/idRuns.ts';

/** A plain subscriber as the benchmark drives and counts it. */
export interface PlainSubscriber extends TalliedMember {
  /** Resolves once it is first subscribed (a long-poll: once its first poll is sent). */
  readonly ready: Promise<void>;
  /** An EventSource that failed for good (an error status or a wrong type: EventSource does not come back). */
  readonly gaveUp: boolean;
  /** Stops reading for `ms` at most (a slow consumer); the function resumes at once. */
  stall(ms: number): (() => void) | undefined;
  close(): void;
}

/** What drives a plain subscriber's connection, set by its transport. */
export interface PlainControls {
  stall(ms: number): (() => void) | undefined;
  close(): void;
}

/** A plain subscriber's record of what it handed on and of its connections; its transport drives it. */
export class PlainRecord implements PlainSubscriber {
  readonly ids = new IdRuns();
  repeated = 0;
  outOfOrder = 0;
  live = false;
  gaveUp = false;
  /** The last id it handed on: where a plain subscriber resumes from. */
  position: string | undefined;
  readonly history: string[] = [];
  readonly stats: SubscriptionStats = { messages: 0, duplicates: 0, resets: 0, reconnects: 0, connectFailures: 0, recoveries: {} };
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private opened = false;
  private controls: PlainControls = { stall: () => undefined, close: () => {} };

  constructor(
    readonly transport: TransportName,
    readonly channel: string,
    since: string,
  ) {
    this.position = since;
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  /** The transport's controls: the record is then the subscriber. */
  driven(controls: PlainControls): PlainSubscriber {
    this.controls = controls;
    return this;
  }

  stall(ms: number): (() => void) | undefined {
    return this.controls.stall(ms);
  }

  close(): void {
    this.controls.close();
  }

  /** A message handed to the application, as it came. */
  handOn(id: string | undefined): void {
    this.stats.messages++;
    if (id === undefined) return;
    const arrival = this.ids.add(Number(id));
    if (arrival === 'repeat') this.repeated++;
    else if (arrival === 'out-of-order') this.outOfOrder++;
    this.position = id;
  }

  /** Subscribed (again, after the first time and a disconnect: a reconnect; a long-poll's next poll is not one). */
  connected(): void {
    if (this.live) return;
    if (this.opened) this.stats.reconnects++;
    this.opened = true;
    this.live = true;
    this.markReady();
  }

  /** The connection ended; `failed`: before it was subscribed. */
  disconnected(failed: boolean, why: string): void {
    if (failed) this.stats.connectFailures++;
    this.live = false;
    this.note(why);
  }

  note(line: string): void {
    this.history.push(line);
    if (this.history.length > 8) this.history.shift();
  }
}

/** A stall: `wait()` is the promise a reader awaits while it lasts (undefined when not stalled). */
export class StallGate {
  private gate: { done: Promise<void>; open(): void } | undefined;

  wait(): Promise<void> | undefined {
    return this.gate?.done;
  }

  stall(ms: number): (() => void) | undefined {
    if (this.gate) return undefined;
    let open!: () => void;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => open(), ms);
      open = () => {
        clearTimeout(timer);
        this.gate = undefined;
        resolve();
      };
    });
    this.gate = { done, open };
    return open;
  }
}

/** What a user's code waits before connecting again after a drop: about a second. */
export function retryDelayMs(): number {
  return 1000 + Math.random() * 1000;
}
