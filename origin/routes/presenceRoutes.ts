// GET /api/channels/:channel/presence?after=<clientId>&limit=<n>: a channel's occupancy (connections by
// transport, members) and a page of its members. For the publisher (PUBLISH_TOKEN) or a subscriber of
// that channel (a subscribe token granting it, public channels too). Through the cache path, never
// cached: it is personal (Authorization) and changes with every connection.
//
// PUT/DELETE /api/channels/:channel/presence/leases/:leaseId: how a client's SSE, NDJSON or long-poll
// subscription is counted (the proxy holds those, and tells the origin nothing when they end): the
// client takes a lease while it is subscribed, renews it every `renewInMs`, and deletes it when it
// stops; one it stops renewing lapses `expiresInMs` later. On a private channel it takes the
// subscribe token; with "presence": true its holder enters as the token's `sub`.
import express, { Router, type Request, type Response } from 'express';
import type { ChannelAccess } from '../access/channelAccess.ts';
import { presentedToken } from '../access/tokenPresentation.ts';
import type { PresenceTracker } from '../presence/presenceTracker.ts';
import { PresenceUnavailableError } from '../presence/presenceStore.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import {
  isLeaseId,
  isPresenceClientId,
  parseLeaseRequest,
  PRESENCE_PAGE_DEFAULT,
  PRESENCE_PAGE_MAX,
  type LeaseAnswer,
  type PresenceSnapshot,
} from '../../protocol/index.ts';
import { tokenMatches } from './bearerToken.ts';
import { channelParam, RequestParamError, sendBadRequest } from './realtimeRequest.ts';

export interface PresenceRouteDeps {
  /** Undefined: presence is off (PRESENCE_TRACKING=false). */
  presence: PresenceTracker | undefined;
  access: ChannelAccess;
  publishToken: string;
  metrics: OriginMetrics;
  /** How long a client's lease lasts unless renewed (PRESENCE_LEASE_SECONDS). */
  leaseSeconds: number;
}

/** The lease key of a client's HTTP subscription (WebSockets are `ws:<filter user>`). */
export function httpLeaseKey(leaseId: string): string {
  return `lease:${leaseId}`;
}

function pageOf(req: Request): { after?: string; limit: number } {
  const { after, limit } = req.query;
  if (after !== undefined && !isPresenceClientId(after)) throw new RequestParamError('after must be a clientId (1-128 characters), the `next` of the previous page');
  if (limit !== undefined && (typeof limit !== 'string' || !/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > PRESENCE_PAGE_MAX)) {
    throw new RequestParamError(`limit must be a whole number from 1 to ${PRESENCE_PAGE_MAX}`);
  }
  return { ...(after !== undefined ? { after } : {}), limit: limit === undefined ? PRESENCE_PAGE_DEFAULT : Number(limit) };
}

function send(res: Response, status: number, body: object): void {
  res.status(status).set('Cache-Control', 'private, no-store').json(body);
}

export function presenceRoutes(deps: PresenceRouteDeps): Router {
  const router = Router();

  /** The publisher, or a subscriber holding a token for this channel; answers 401/403 otherwise (and returns false). */
  const mayRead = async (req: Request, res: Response, channel: string): Promise<boolean> => {
    const presented = presentedToken(req.query.token, req.get('authorization'));
    if ('ambiguous' in presented) {
      sendBadRequest(res, presented.ambiguous);
      return false;
    }
    if (presented.token === undefined) {
      res.set('WWW-Authenticate', 'Bearer realm="presence"');
      send(res, 401, { error: 'unauthorized', message: `reading the presence of ${channel} takes "Authorization: Bearer" with PUBLISH_TOKEN or a subscribe token for ${channel}` });
      return false;
    }
    if (tokenMatches(presented.token, deps.publishToken)) return true;
    const decision = await deps.access.authorizeToken(channel, presented.token);
    if (decision.allowed) return true;
    deps.metrics.subscribeRefusals.inc({ transport: 'presence', reason: decision.reason });
    send(res, 403, { error: 'forbidden', reason: decision.reason, message: decision.message, channel });
    return false;
  };

  router.get('/api/channels/:channel/presence', async (req: Request, res: Response) => {
    let channel: string;
    let page: { after?: string; limit: number };
    try {
      channel = channelParam(req);
      page = pageOf(req);
    } catch (error) {
      if (error instanceof RequestParamError) return sendBadRequest(res, error.message);
      throw error;
    }
    if (!(await mayRead(req, res, channel))) return;
    if (!deps.presence) return send(res, 404, { error: 'presence_off', message: 'this origin does not track presence (PRESENCE_TRACKING=false)' });
    try {
      const read = await deps.presence.read(channel, page);
      const snapshot: PresenceSnapshot = { channel, occupancy: read.occupancy, members: read.members, ...(read.next !== undefined ? { next: read.next } : {}) };
      send(res, 200, snapshot);
    } catch (error) {
      if (!(error instanceof PresenceUnavailableError)) throw error;
      res.set('Retry-After', '1');
      send(res, 503, { error: 'presence_unavailable', message: 'the presence store is unavailable; try again in a moment' });
    }
  });
  const leaseParams = (req: Request, res: Response): { channel: string; leaseId: string } | undefined => {
    try {
      const channel = channelParam(req);
      const leaseId = String(req.params.leaseId ?? '');
      if (!isLeaseId(leaseId)) throw new RequestParamError('the lease id must be 16-64 letters, digits, "_" or "-" (a random one of the client\'s)');
      return { channel, leaseId };
    } catch (error) {
      if (error instanceof RequestParamError) return void sendBadRequest(res, error.message);
      throw error;
    }
  };
  const unavailable = (res: Response, error: unknown): void => {
    if (!(error instanceof PresenceUnavailableError)) throw error;
    deps.metrics.presenceErrors.inc();
    res.set('Retry-After', '1');
    send(res, 503, { error: 'presence_unavailable', message: 'the presence store is unavailable; try again in a moment' });
  };
  const leasePath = '/api/channels/:channel/presence/leases/:leaseId';
  const ttlMs = deps.leaseSeconds * 1000;

  router.put(leasePath, express.json({ limit: '1kb', type: () => true }), async (req: Request, res: Response) => {
    const params = leaseParams(req, res);
    if (!params) return;
    const { channel, leaseId } = params;
    const request = parseLeaseRequest(req.body);
    if (typeof request === 'string') return sendBadRequest(res, request);
    const presented = presentedToken(req.query.token, req.get('authorization'));
    if ('ambiguous' in presented) return sendBadRequest(res, presented.ambiguous);
    const decision = await deps.access.authorize(channel, presented.token);
    if (!decision.allowed) {
      deps.metrics.subscribeRefusals.inc({ transport: 'presence', reason: decision.reason });
      return send(res, 403, { error: 'forbidden', reason: decision.reason, message: decision.message, channel });
    }
    if (request.presence && (decision.kind !== 'granted' || !isPresenceClientId(decision.sub))) {
      deps.metrics.presenceRefusals.inc({ reason: 'not-member' });
      return send(res, 403, {
        error: 'presence_refused',
        message: 'presence takes a private channel and a subscribe token naming its holder (a "sub" claim of 1-128 characters)',
        channel,
      });
    }
    if (!deps.presence) return send(res, 404, { error: 'presence_off', message: 'this origin does not track presence (PRESENCE_TRACKING=false)' });
    const member =
      request.presence && decision.kind === 'granted' && decision.sub !== undefined
        ? { clientId: decision.sub, ...(decision.info !== undefined ? { info: decision.info } : {}) }
        : undefined;
    try {
      const refused = await deps.presence.touch([{ channel, connection: httpLeaseKey(leaseId), transport: request.transport, ...(member ? { member } : {}) }], ttlMs);
      if (refused.length > 0) {
        deps.metrics.presenceRefusals.inc({ reason: member ? 'full' : 'uncounted' });
        return send(res, 409, { error: 'presence_full', message: `${channel} holds as many connections as it may; try again later`, channel });
      }
    } catch (error) {
      return unavailable(res, error);
    }
    const answer: LeaseAnswer = { channel, leaseId, expiresInMs: ttlMs, renewInMs: Math.floor(ttlMs / 3) };
    send(res, 200, answer);
  });

  router.delete(leasePath, async (req: Request, res: Response) => {
    const params = leaseParams(req, res);
    if (!params) return;
    if (!deps.presence) return void res.status(204).end();
    try {
      await deps.presence.release([{ channel: params.channel, connection: httpLeaseKey(params.leaseId) }]);
    } catch (error) {
      return unavailable(res, error);
    }
    res.status(204).set('Cache-Control', 'no-store').end();
  });
  return router;
}
