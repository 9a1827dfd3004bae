// Which transport a client uses when it may choose ('auto'): the best first (WebSocket), one step
// down when the current one cannot connect a few times running (an upgrade refused, an error before
// the connection opened, an HTTP error status on a stream), and one step up again later. A network
// outage looks the same as a transport refused (every connection fails), so the first fall is tried
// again soon (firstUpgradeAfterMs): a client that lost the network for a few seconds is back on the
// best transport shortly after. Falling again means the transport itself is refused: from then on the
// wait doubles with every fall (a WebSocket that a proxy blocks is not retried every few seconds).
// Positions belong to subscriptions, not transports: a subscription carries its position across.

export interface LadderSettings {
  /** Connect failures in a row on one transport before stepping down. */
  fallbackAfterFailures: number;
  /** How long to stay down after the first fall before trying one step up (an outage is short). */
  firstUpgradeAfterMs: number;
  /** How long to stay down after a later fall (doubled with every further fall, up to 32x). */
  upgradeAfterMs: number;
}

export interface Ladder {
  /** Index into the client's transports (0: the best). */
  index: number;
  /** Connect failures in a row on the current transport. */
  failures: number;
  /** When to step up (Infinity at the top). */
  upgradeAt: number;
  /** Falls since the top transport last connected. */
  falls: number;
}

export function createLadder(): Ladder {
  return { index: 0, failures: 0, upgradeAt: Infinity, falls: 0 };
}

/** A connection on rung `rung` failed before it worked. Returns true when the ladder stepped down. */
export function ladderFailed(ladder: Ladder, rung: number, rungs: number, settings: LadderSettings, now: number): boolean {
  if (rung !== ladder.index || ++ladder.failures < settings.fallbackAfterFailures || ladder.index >= rungs - 1) return false;
  ladder.index++;
  ladder.failures = 0;
  ladder.falls++;
  ladder.upgradeAt = now + upgradeWait(ladder, settings);
  return true;
}

function upgradeWait(ladder: Ladder, settings: LadderSettings): number {
  if (ladder.falls <= 1) return settings.firstUpgradeAfterMs;
  return settings.upgradeAfterMs * 2 ** Math.min(ladder.falls - 2, 5);
}

/** A connection on rung `rung` worked. */
export function ladderWorked(ladder: Ladder, rung: number): void {
  if (rung !== ladder.index) return;
  ladder.failures = 0;
  if (rung === 0) ladder.falls = 0;
}

/** Steps up when it is time. Returns true when it did. */
export function ladderUpgrade(ladder: Ladder, settings: LadderSettings, now: number): boolean {
  if (ladder.index === 0 || now < ladder.upgradeAt) return false;
  ladder.index--;
  ladder.failures = 0;
  ladder.upgradeAt = ladder.index === 0 ? Infinity : now + upgradeWait(ladder, settings);
  return true;
}
