// POST /ws: WebSocket-over-HTTP. The GRIP proxy holds the client's WebSocket and turns what happens on
// it into events (OPEN, TEXT, CLOSE, ...) POSTed here; the answer carries events back, plus `c:` GRIP
// control messages (subscribe/unsubscribe) for the proxy itself. The origin keeps no connection state:
// the channels a connection is subscribed to travel in proxy connection meta (Set-Meta-Subs).
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { ExpiryCloser } from '../access/expiryCloser.ts';
import type { HistoryStore } from '../history/historyStore.ts';
import type { Logger } from '../observability/logger.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import type { MessagePublisher } from '../publishing/messagePublisher.ts';
import {
  decodeWebSocketEvents,
  encodeWebSocketEvents,
  WEBSOCKET_EVENTS_CONTENT_TYPE,
  WebSocketEventsDecodeError,
  type WebSocketEvent,
} from '../websocket/websocketEvents.ts';
import type { PresenceTracker } from '../presence/presenceTracker.ts';
import { wsLeaseTtlMs, type WsPresencePort } from '../websocket/wsPresence.ts';
import { runWsSession, type WsSessionPorts } from '../websocket/wsSession.ts';
import { newFilterUser, readSessionState, sessionStateHeaders } from '../websocket/wsSessionState.ts';
import { sealedBarriers, type WsStateSeal } from '../websocket/wsStateSeal.ts';
import { DEFAULT_SUBSCRIBE_LIMITS, type SubscribeLimits } from '../websocket/wsSubscribe.ts';

/** Pushpin sends an unsolicited pong to an idle client this often, so intermediaries keep the connection. */
const WS_KEEP_ALIVE_SECONDS = 25;

export interface WsRouteDeps {
  history: HistoryStore;
  publisher: MessagePublisher;
  requireGrip: RequestHandler;
  metrics: OriginMetrics;
  log: Logger;
  allowClientPublish: boolean;
  maxSubscriptions: number;
  subscribeLimits?: SubscribeLimits;
  access: ChannelAccess;
  expiryCloser: ExpiryCloser;
  grantKeepAliveSeconds: number;
  /** Seals the session state kept in proxy meta (and the barrier pings). */
  stateSeal: WsStateSeal;
  /** Occupancy and presence; undefined: not counted. */
  presence?: { tracker: PresenceTracker; keepAliveSeconds: number };
}

export function wsRoutes(deps: WsRouteDeps): Router {
  const router = Router();
  const { metrics, log } = deps;
  // The body is read only after the signature check passed, and as raw bytes (lengths are in bytes).
  const rawBody = express.raw({ type: () => true, limit: '2mb' });
  const presence: WsPresencePort | undefined = deps.presence && {
    touch: (touches) => deps.presence!.tracker.touch(touches, wsLeaseTtlMs(deps.presence!.keepAliveSeconds)),
    release: (releases) => deps.presence!.tracker.release(releases),
    keepAliveSeconds: deps.presence.keepAliveSeconds,
  };
  router.post('/ws', deps.requireGrip, rawBody, async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const connectionId = req.get('connection-id');
    if (!req.is(WEBSOCKET_EVENTS_CONTENT_TYPE) || !connectionId) {
      res.status(400).json({
        error: 'bad_request',
        message: `POST /ws takes WebSocket-over-HTTP (${WEBSOCKET_EVENTS_CONTENT_TYPE} with Connection-Id) from the GRIP proxy`,
      });
      return;
    }
    let events: WebSocketEvent[];
    try {
      events = decodeWebSocketEvents(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    } catch (error) {
      if (!(error instanceof WebSocketEventsDecodeError)) throw error;
      res.status(400).json({ error: 'bad_request', message: `malformed websocket events: ${error.message}` });
      return;
    }
    const sealing = { seal: deps.stateSeal, connectionId };
    const ports: WsSessionPorts = {
      history: deps.history,
      barriers: sealedBarriers(deps.stateSeal, connectionId),
      access: deps.access,
      scheduleExpiry: (exp, subscribing) => deps.expiryCloser.schedule(exp, { newSubscription: subscribing }),
      ...(presence ? { presence } : {}),
      publish: deps.allowClientPublish ? async (input) => (await deps.publisher.publish([input]))[0]! : undefined,
      newUser: newFilterUser,
      now: Date.now,
      observe: {
        event: (name) => metrics.websocketEvents.inc({ event: name }),
        opened: () => metrics.holdsOpened.inc({ transport: 'ws' }),
        replayed: (count) => metrics.messagesReplayed.inc({ transport: 'ws' }, count),
        caughtUp: (channel, rounds, gated) => log.debug({ connectionId, channel, rounds, gated }, 'websocket subscribe live'),
        published: () => metrics.messagesPublished.inc({ source: 'websocket' }),
        publishFailed: (kind, error) => {
          metrics.publishErrors.inc({ kind });
          if (kind === 'delivery' || kind === 'unavailable') log.error({ err: error, connectionId }, 'client publish failed');
        },
        refused: (reason) => metrics.subscribeRefusals.inc({ transport: 'ws', reason }),
        expired: () => metrics.subscriptionsExpired.inc({ transport: 'ws' }),
        gate: (outcome) => metrics.appendGates.inc({ outcome }),
        unsealed: () => {
          metrics.signatureFailures.inc({ reason: 'unsealed-state' });
          log.warn({ connectionId }, 'websocket session state did not verify (forged, or sealed under another key); closing the connection');
        },
        presenceRefused: (reason) => metrics.presenceRefusals.inc({ reason }),
        presenceFailed: (error) => {
          metrics.presenceErrors.inc();
          log.warn({ err: error, connectionId }, 'presence store call failed; the leases are renewed at a later request, or lapse');
        },
        failed: (error) => log.error({ err: error, connectionId }, 'websocket command failed'),
      },
    };
    const read = readSessionState((name) => req.get(name), sealing);
    const options = {
      maxSubscriptions: deps.maxSubscriptions,
      limits: deps.subscribeLimits ?? DEFAULT_SUBSCRIBE_LIMITS,
      keepAliveSeconds: WS_KEEP_ALIVE_SECONDS,
      grantKeepAliveSeconds: deps.grantKeepAliveSeconds,
    };
    const { out, state, keepAliveIntervalSeconds } = await runWsSession(events, read.state, ports, options, read.seal);
    res
      .status(200)
      .set({
        'Content-Type': WEBSOCKET_EVENTS_CONTENT_TYPE,
        'Sec-WebSocket-Extensions': 'grip',
        ...sessionStateHeaders(state, sealing),
        ...(keepAliveIntervalSeconds !== undefined ? { 'Keep-Alive-Interval': String(keepAliveIntervalSeconds) } : {}),
      })
      .send(encodeWebSocketEvents(out));
  });
  router.get('/ws', deps.requireGrip, (_req: Request, res: Response) => {
    res
      .status(426)
      .set({ 'Cache-Control': 'no-store', Upgrade: 'websocket' })
      .json({ error: 'upgrade_required', message: 'connect with a WebSocket (Upgrade: websocket) through the GRIP proxy' });
  });
  return router;
}
