// Test fake for `fastly:fanout`: records each handoff instead of passing the request to Fanout.
import { committedHeaders } from '../downstreamRequest.ts';

export interface RecordedHandoff {
  request: Request;
  backend: string;
  /** What reaches Fanout: the runtime commits the request's headers, then hands off its host handle. */
  headers: Headers;
}

export const handoffs: RecordedHandoff[] = [];

/** Header on the fake handoff response, so a test can tell it from a forwarded one. */
export const FAKE_HANDOFF_HEADER = 'x-fake-fanout-handoff';

let failure: Error | undefined;

/** The next handoffs throw `error` (as the runtime does for an invalid backend name). */
export function failHandoffsWith(error: Error | undefined): void {
  failure = error;
}

export function resetFanout(): void {
  handoffs.length = 0;
  failure = undefined;
}

export function createFanoutHandoff(request: Request, backend: string): Response {
  if (failure) throw failure;
  if (backend.length < 1 || backend.length > 254) throw new TypeError('createFanoutHandoff: backend must be 1-254 characters');
  handoffs.push({ request, backend, headers: committedHeaders(request) });
  return new Response(null, { status: 200, headers: { [FAKE_HANDOFF_HEADER]: backend } });
}
