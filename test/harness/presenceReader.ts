// Reads a channel's presence through GET /api/channels/:channel/presence, and waits for it to change.
import { parsePresenceSnapshot, presencePath, type PresenceSnapshot } from '../../protocol/index.ts';

export async function readPresence(baseUrl: string, channel: string, bearer: string): Promise<PresenceSnapshot> {
  const response = await fetch(`${baseUrl}${presencePath(channel)}`, { headers: { Authorization: `Bearer ${bearer}` } });
  const body = (await response.json()) as unknown;
  if (response.status !== 200) throw new Error(`presence of ${channel}: HTTP ${response.status} ${JSON.stringify(body)}`);
  const snapshot = parsePresenceSnapshot(body);
  if (typeof snapshot === 'string') throw new Error(`presence of ${channel}: ${snapshot}`);
  return snapshot;
}

/** Polls the presence until `check` holds; resolves with the snapshot and how long it took (ms). */
export async function untilPresence(
  read: () => Promise<PresenceSnapshot>,
  check: (snapshot: PresenceSnapshot) => boolean,
  options: { timeoutMs: number; what: string; everyMs?: number },
): Promise<{ snapshot: PresenceSnapshot; afterMs: number }> {
  const started = Date.now();
  let last: PresenceSnapshot | undefined;
  while (Date.now() - started < options.timeoutMs) {
    last = await read().catch(() => undefined);
    if (last && check(last)) return { snapshot: last, afterMs: Date.now() - started };
    await new Promise((r) => setTimeout(r, options.everyMs ?? 200));
  }
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}; last: ${JSON.stringify(last)}`);
}

export const memberIds = (snapshot: PresenceSnapshot): string[] => snapshot.members.map((m) => m.clientId);
