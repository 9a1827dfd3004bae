// Drives the client's state machine by hand in unit and property tests: events in, effects recorded,
// a clock that ticks the machine whenever it asked to wake. No I/O.
import type { ServerFrame } from '../../protocol/index.ts';
import { createMachine, step, type Effect, type MachineEvent, type MachineSettings, type MachineState } from '../core/clientMachine.ts';

export const TEST_SETTINGS: MachineSettings = {
  transports: ['websocket'],
  idleTimeoutMs: 3000,
  silenceCheckMs: 2000,
  backoff: { baseMs: 100, maxMs: 1000 },
  healthyAfterMs: 1000,
  fallbackAfterFailures: 2,
  firstUpgradeAfterMs: 60_000,
  upgradeAfterMs: 60_000,
  publishTimeoutMs: 5000,
  subscribeTimeoutMs: 8000,
  locateFirst: ['stream', 'poll'],
  keepAliveHidden: ['poll'],
  random: () => 0.5,
};

export interface Testbed {
  machine: MachineState;
  now: number;
  /** Every effect so far, in order. */
  effects: Effect[];
  /** Applies an event now; returns its effects. */
  send(event: MachineEvent): Effect[];
  /** Moves the clock forward, ticking the machine at every wake-up on the way; returns the effects. */
  wait(ms: number): Effect[];
  /** The effects of one type so far. */
  of<T extends Effect['type']>(type: T): Array<Extract<Effect, { type: T }>>;
  frame(conn: number, frame: ServerFrame): Effect[];
  /** The connection last opened. */
  lastConn(): number;
}

/** `silenceCheckMs` follows `idleTimeoutMs` (two thirds of it) unless given. */
export function createTestbed(settings: Partial<MachineSettings> = {}): Testbed {
  const idle = settings.idleTimeoutMs ?? TEST_SETTINGS.idleTimeoutMs;
  const machine = createMachine({ ...TEST_SETTINGS, silenceCheckMs: Math.floor((idle * 2) / 3), ...settings });
  const bed: Testbed = {
    machine,
    now: 1_000_000,
    effects: [],
    send(event) {
      const out: Effect[] = [];
      step(machine, event, bed.now, out);
      bed.effects.push(...out);
      return out;
    },
    wait(ms) {
      const until = bed.now + ms;
      const out: Effect[] = [];
      while (machine.wakeAt <= until) {
        bed.now = Math.max(bed.now, machine.wakeAt);
        out.push(...bed.send({ type: 'tick' }));
      }
      bed.now = until;
      return out;
    },
    of: (type) => bed.effects.filter((e) => e.type === type) as never,
    frame: (conn, frame) => bed.send({ type: 'frame', conn, frame }),
    lastConn: () => bed.of('open').at(-1)!.conn,
  };
  return bed;
}

/** The ids of the messages delivered to `sub`, in order. */
export function deliveredIds(effects: Effect[], sub = 1): Array<string | undefined> {
  return effects.flatMap((e) => (e.type === 'message' && e.sub === sub ? [e.message.id] : []));
}

/** The subscribe frames sent, parsed. */
export function subscribeFrames(effects: Effect[]): Array<{ conn: number; channel: string; since?: string; token?: string }> {
  return effects.flatMap((e) => {
    if (e.type !== 'send') return [];
    const frame = JSON.parse(e.text) as { type: string; channel: string; since?: string; token?: string };
    return frame.type === 'subscribe' ? [{ conn: e.conn, channel: frame.channel, ...(frame.since ? { since: frame.since } : {}), ...(frame.token ? { token: frame.token } : {}) }] : [];
  });
}

export const message = (channel: string, id: number | undefined, prev?: number): ServerFrame => ({
  type: 'message',
  ...(prev !== undefined ? { prev: String(prev) } : {}),
  ...(id !== undefined ? { id: String(id) } : {}),
  channel,
  data: id ?? 'live',
  ts: 1,
});
