// The history API (GET /api/channels/:channel/messages) as the client uses it: the channel's last id
// (a subscription that starts without a position on a transport that cannot tell it), and whether a
// message after the position is retained (the silence check of a stream).
import { parseHistoryPage, type HistoryPage } from '../../protocol/index.ts';
import { refusal } from './httpStreamConnection.ts';
import { historyProbeUrl } from './urls.ts';
import { describeError, type FetchLike } from './runtimeApis.ts';

export type HistoryAnswer = { page: HistoryPage } | { status?: number; detail: string };

export async function probeHistory(fetch: FetchLike, base: string, headers: Record<string, string>, channel: string, since?: string): Promise<HistoryAnswer> {
  try {
    const response = await fetch(historyProbeUrl(base, channel, since), { headers });
    if (response.status !== 200) return { status: response.status, detail: await refusal(response) };
    const page = parseHistoryPage(await response.json());
    return typeof page === 'string' ? { detail: page } : { page };
  } catch (error) {
    return { detail: describeError(error) };
  }
}
