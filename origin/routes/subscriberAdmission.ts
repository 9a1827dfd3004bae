// Lets an HTTP subscriber (SSE, NDJSON, long-poll, the history API) on to a channel, or answers for it:
// 400 for two different tokens, 403 for a private channel the token does not open. Stream holds also
// come back through their next links with a link grant instead of a token (see access/linkGrant.ts).
import type { Request, Response } from 'express';
import type { AccessDecision, ChannelAccess } from '../access/channelAccess.ts';
import { presentedToken } from '../access/tokenPresentation.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { sendBadRequest, sendForbidden } from './realtimeRequest.ts';

export type Admission = Extract<AccessDecision, { allowed: true }>;

/** An admission, or `expired` when a next link's grant ran out (the stream ends), or undefined when answered. */
export type LinkAdmission = Admission | { allowed: true; kind: 'expired' };

export interface AdmissionDeps {
  access: ChannelAccess;
  metrics: OriginMetrics;
}

function refuse(res: Response, deps: AdmissionDeps, transport: string, channel: string, reason: string, message: string): undefined {
  deps.metrics.subscribeRefusals.inc({ transport, reason });
  sendForbidden(res, channel, reason, message);
  return undefined;
}

export async function admitSubscriber(
  req: Request,
  res: Response,
  channel: string,
  transport: string,
  deps: AdmissionDeps,
): Promise<Admission | undefined> {
  if (!deps.access.isPrivate(channel)) return { allowed: true, kind: 'public' };
  const presented = presentedToken(req.query.token, req.get('authorization'));
  if ('ambiguous' in presented) {
    sendBadRequest(res, presented.ambiguous);
    return undefined;
  }
  const decision = await deps.access.authorize(channel, presented.token);
  if (!decision.allowed) return refuse(res, deps, transport, channel, decision.reason, decision.message);
  return decision;
}

/**
 * Like admitSubscriber, and a request that carries a link grant and no token is Pushpin following
 * the hold's next link: the grant stands for the token the hold was opened with.
 */
export async function admitStreamSubscriber(
  req: Request,
  res: Response,
  channel: string,
  transport: string,
  deps: AdmissionDeps,
): Promise<LinkAdmission | undefined> {
  // A next link's grant is in its path (see streamHoldPaths).
  const grant = req.params.grant;
  const { access } = deps;
  const hasToken = req.query.token !== undefined || /^Bearer\s/i.test(req.get('authorization') ?? '');
  if (!access.isPrivate(channel) || grant === undefined || hasToken) return admitSubscriber(req, res, channel, transport, deps);
  const check = typeof grant === 'string' && access.linkGrants ? access.linkGrants.check(grant, { transport, channel }, access.nowSeconds()) : undefined;
  if (check?.valid) return { allowed: true, kind: 'granted', exp: check.exp, publish: false };
  if (check?.expired) return { allowed: true, kind: 'expired' };
  return refuse(res, deps, transport, channel, 'forged', 'the link grant does not verify');
}

/** A stream of several channels: public, opened with a token covering its private ones (until `exp`), or a next link whose grant ran out. */
export type StreamChannelsAdmission = { kind: 'public' } | { kind: 'granted'; exp: number } | { kind: 'expired' };

/** The link grant's scope for the private channels of a stream of several (no channel name holds a ','). */
export function streamGrantScope(transport: string, privateChannels: readonly string[]): { transport: string; channel: string } {
  return { transport, channel: privateChannels.join(',') };
}

/**
 * Lets a stream of several channels on, or answers for it. One token for the whole stream: it must
 * grant every private channel, and the first it does not grant refuses the request (403 naming that
 * channel: a stream never opens with part of its channels). A next link carries one grant for the
 * stream's private channels instead (see admitStreamSubscriber).
 */
export async function admitStreamChannels(
  req: Request,
  res: Response,
  privateChannels: readonly string[],
  transport: string,
  deps: AdmissionDeps,
): Promise<StreamChannelsAdmission | undefined> {
  if (privateChannels.length === 0) return { kind: 'public' };
  const { access } = deps;
  const grant = req.params.grant;
  const hasToken = req.query.token !== undefined || /^Bearer\s/i.test(req.get('authorization') ?? '');
  if (grant !== undefined && !hasToken) {
    const check = typeof grant === 'string' && access.linkGrants ? access.linkGrants.check(grant, streamGrantScope(transport, privateChannels), access.nowSeconds()) : undefined;
    if (check?.valid) return { kind: 'granted', exp: check.exp };
    if (check?.expired) return { kind: 'expired' };
    return refuse(res, deps, transport, privateChannels[0]!, 'forged', 'the link grant does not verify');
  }
  const presented = presentedToken(req.query.token, req.get('authorization'));
  if ('ambiguous' in presented) {
    sendBadRequest(res, presented.ambiguous);
    return undefined;
  }
  let exp = Infinity;
  for (const channel of privateChannels) {
    const decision = await access.authorize(channel, presented.token);
    if (!decision.allowed) return refuse(res, deps, transport, channel, decision.reason, decision.message);
    if (decision.kind === 'granted') exp = Math.min(exp, decision.exp);
  }
  return { kind: 'granted', exp };
}
