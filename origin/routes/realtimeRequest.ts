// What a realtime request asks for: which channel, and from which message id on. Shared by the SSE,
// NDJSON and long-poll routes so they all read resume positions the same way.
import type { Request, Response } from 'express';
import { CHANNEL_NAME_RULE, compareMessageIds, isMessageId, isValidChannelName } from '../../protocol/index.ts';
import { isGripVerified } from '../grip/requireGripSignature.ts';

export class RequestParamError extends Error {
  override name = 'RequestParamError';
}

export function sendBadRequest(res: Response, message: string): void {
  res.status(400).set('Cache-Control', 'no-store').json({ error: 'bad_request', message });
}

/** A private channel the request may not read: no hold, no replay, no history. */
export function sendForbidden(res: Response, channel: string, reason: string, message: string): void {
  res.status(403).set('Cache-Control', 'no-store').json({ error: 'forbidden', reason, message, channel });
}

export function channelParam(req: Request): string {
  const channel = String(req.params.channel ?? '');
  if (!isValidChannelName(channel)) throw new RequestParamError(`channel must be ${CHANNEL_NAME_RULE}`);
  return channel;
}

/**
 * The last id Pushpin delivered on `gripChannel`, from the `Grip-Last: <channel>; last-id=<id>` header
 * it sends when it follows a Grip-Link (to recover a gap, or to page through a replay). Only on a
 * request whose Grip-Sig verified: anywhere else the header is a client's, not the proxy's.
 */
export function gripLastId(req: Request, gripChannel: string): string | undefined {
  if (!isGripVerified(req)) return undefined;
  const header = req.get('grip-last');
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim());
    if (name !== gripChannel) continue;
    for (const param of params) {
      const match = /^last-id=(.*)$/.exec(param);
      if (match && isMessageId(match[1]!)) return match[1];
    }
  }
  return undefined;
}

/**
 * The id the client has seen up to: the named path parameters (a next link's position), the named
 * headers, then the named query parameters, and Grip-Last when Pushpin sends it, whichever is the later. Both are positions the client has: Grip-Last is the
 * last id Pushpin delivered on the hold, the link's own position is where the origin's last page
 * ended; recovering a gap, Grip-Last is the later one, paging through a long replay (no hold, so
 * Pushpin repeats the Grip-Last of the last hold) the link's. Undefined when none is given;
 * RequestParamError when one is malformed.
 */
export function resumeIdOf(
  req: Request,
  /** The hold's history channel; undefined on a route the proxy does not hold (Grip-Last is never read). */
  gripChannel: string | undefined,
  sources: { params?: string[]; headers?: string[]; query: string[] },
): string | undefined {
  const recovered = gripChannel === undefined ? undefined : gripLastId(req, gripChannel);
  const given = givenResumeId(req, sources);
  if (recovered === undefined || given === undefined) return recovered ?? given;
  return compareMessageIds(recovered, given) >= 0 ? recovered : given;
}

function givenResumeId(req: Request, sources: { params?: string[]; headers?: string[]; query: string[] }): string | undefined {
  const candidates: Array<[string, string | undefined]> = [
    ...(sources.params ?? []).map((name): [string, string | undefined] => [name, req.params[name] as string | undefined]),
    ...(sources.headers ?? []).map((name): [string, string | undefined] => [name, req.get(name)]),
    ...sources.query.map((name): [string, string | undefined] => [
      name,
      typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined,
    ]),
  ];
  for (const [name, value] of candidates) {
    if (value === undefined || value === '') continue;
    if (!isMessageId(value)) throw new RequestParamError(`${name} must be a message id such as "42"`);
    return value;
  }
  return undefined;
}
