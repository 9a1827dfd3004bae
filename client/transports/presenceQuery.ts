// The presence API (GET /api/channels/:channel/presence) as the client reads it: the channel's
// occupancy and a page of its members, with the subscription's token.
import { parsePresenceSnapshot, type PresenceSnapshot } from '../../protocol/index.ts';
import { refusal } from './httpStreamConnection.ts';
import { describeError, type FetchLike } from './runtimeApis.ts';
import { presenceUrl } from './urls.ts';

export class PresenceQueryError extends Error {
  override name = 'PresenceQueryError';
  constructor(
    message: string,
    /** The HTTP status of the answer, when there was one (401/403: the token does not grant the channel). */
    readonly status?: number,
  ) {
    super(message);
  }
}

export async function readPresenceSnapshot(
  fetch: FetchLike | undefined,
  base: string,
  headers: Record<string, string>,
  channel: string,
  page: { after?: string | undefined; limit?: number | undefined } = {},
): Promise<PresenceSnapshot> {
  if (!fetch) throw new PresenceQueryError('reading presence takes fetch (pass `fetch`)');
  let response;
  try {
    response = await fetch(presenceUrl(base, channel, page), { headers });
  } catch (error) {
    throw new PresenceQueryError(`the presence of ${channel} could not be read: ${describeError(error)}`);
  }
  if (response.status !== 200) throw new PresenceQueryError(`the presence of ${channel}: ${await refusal(response)}`, response.status);
  const snapshot = parsePresenceSnapshot(await response.json());
  if (typeof snapshot === 'string') throw new PresenceQueryError(`the presence of ${channel}: ${snapshot}`);
  return snapshot;
}
