// The proxy a property test puts around the client's state machine (machineTestbed): it keeps the
// connections the machine opened, answers its effects through a queue of events applied in order,
// lets time pass with keep-alives, and takes the test's random picks. What the proxy sends on a
// connection and what the history holds stay with each test (one channel, or several on a stream).
import type { TransportName } from '../../protocol/index.ts';
import type { Effect, MachineEvent } from '../core/clientMachine.ts';
import { createTestbed, type Testbed } from './machineTestbed.ts';

/** A connection as the proxy sees it; each test adds what it sends on it. */
export interface ProxyConn {
  id: number;
  alive: boolean;
}

export interface SimulatedProxyOptions {
  transport: TransportName;
  /** The seed of the machine's random numbers (its backoff jitter). */
  seed: number;
  /** The test's picks: `choose(n)` takes the next one (round and round), modulo n; 0 when there are none. */
  picks: number[];
  /**
   * The test's part of the proxy: every effect but `drop` (the connection is dead from then on) and
   * `fail` (the test fails: a subscription must never end for good), answered with `proxy.answer`.
   */
  handle(effect: Effect): void;
  /** Called after each event `run` applied and all that followed from it. */
  afterRun?: () => void;
}

export interface SimulatedProxy<C extends ProxyConn> {
  readonly bed: Testbed;
  /** Every connection the machine opened (the test adds them on `open`), by id. */
  readonly conns: Map<number, C>;
  /** A pick in 0..n-1. */
  choose(n: number): number;
  /** Queues an event for the machine, applied after the effects being handled. */
  answer(event: MachineEvent): void;
  /** Handles effects the test got from the machine itself; their answers wait for the next `run`. */
  react(effects: Effect[]): void;
  /** Applies the event and every answer that follows from it. */
  run(event: MachineEvent): void;
  /** Time passes in steps of 500 ms; every open stream and WebSocket gets a keep-alive each step (a long-poll none). */
  wait(ms: number): void;
  /** The proxy cuts the connection: the machine hears it ended. */
  cut(conn: C): void;
  /** A connection the client left (one that may still deliver), picked; undefined when there is none. */
  leftConn(): C | undefined;
}

export function createSimulatedProxy<C extends ProxyConn>(options: SimulatedProxyOptions): SimulatedProxy<C> {
  const { transport, picks, handle, afterRun } = options;
  let seed = options.seed;
  const bed = createTestbed({ transports: [transport], random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) });
  const conns = new Map<number, C>();
  const queue: MachineEvent[] = [];
  let pick = 0;
  const choose = (n: number): number => (picks.length === 0 ? 0 : picks[pick++ % picks.length]! % n);

  const react = (effects: Effect[]): void => {
    for (const e of effects) {
      if (e.type === 'drop') conns.get(e.conn)!.alive = false;
      else if (e.type === 'fail') throw new Error(`the subscription failed: ${e.message}`);
      else handle(e);
    }
  };
  const drain = (): void => {
    while (queue.length > 0) react(bed.send(queue.shift()!));
  };
  const run = (event: MachineEvent): void => {
    queue.push(event);
    drain();
    afterRun?.();
  };
  return {
    bed,
    conns,
    choose,
    answer: (event) => void queue.push(event),
    react,
    run,
    wait(ms) {
      for (let left = ms; left > 0; left -= 500) {
        if (transport !== 'poll') for (const c of conns.values()) if (c.alive) run({ type: 'alive', conn: c.id });
        react(bed.wait(Math.min(500, left)));
        drain();
      }
    },
    cut(conn) {
      conn.alive = false;
      run({ type: 'ended', conn: conn.id, detail: 'cut' });
    },
    leftConn() {
      const dead = [...conns.values()].filter((c) => !c.alive);
      return dead.length > 0 ? dead[choose(dead.length)] : undefined;
    },
  };
}
