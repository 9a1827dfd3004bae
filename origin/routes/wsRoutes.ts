// POST /ws: WebSocket-over-HTTP. The GRIP proxy holds the client's WebSocket and turns what happens on
// it into events (OPEN, TEXT, CLOSE, ...) POSTed here; the answer carries events back, plus `c:` GRIP
// control messages (subscribe/unsubscribe) for the proxy itself. The origin keeps no connection state:
// the channels a connection is subscribed to travel in proxy connection meta (Set-Meta-Subs).
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { HistoryConflictError, type HistoryStore } from '../history/historyStore.ts';
import type { Logger } from '../observability/logger.ts';
import type { OriginMetrics } from '../observability/metrics.ts';
import { ItemTooLargeError } from '../publishing/gripPublisher.ts';
import {
  DeliveryError,
  PublishInputError,
  validatePublishInput,
  type MessagePublisher,
} from '../publishing/messagePublisher.ts';
import { gripChannelFor } from '../transports/gripChannels.ts';
import { wsMessageFrame } from '../transports/messageFraming.ts';
import {
  clientTextEvent,
  closeEvent,
  closeStatusOf,
  decodeWebSocketEvents,
  encodeWebSocketEvents,
  gripControlEvent,
  WEBSOCKET_EVENTS_CONTENT_TYPE,
  WebSocketEventsDecodeError,
  type WebSocketEvent,
} from '../transports/websocketEvents.ts';
import {
  CLOSE_CODES,
  formatSubscriptionList,
  isProtocolError,
  parseClientFrame,
  parseSubscriptionList,
  serverFrames,
  type ClientCommand,
  type WsProtocolError,
} from '../transports/wsProtocol.ts';
import { replayPosition } from './replayPosition.ts';

/** The proxy meta key holding the connection's channels (request `Meta-Subs`, response `Set-Meta-Subs`). */
const SUBSCRIPTIONS_META = 'Subs';
/** Pushpin pings an idle client this often, so intermediaries keep the connection. */
const WS_KEEP_ALIVE_SECONDS = 25;
/** A WebSocket has no next link to page through, so its replay is one larger page... */
const WS_REPLAY_MAX_MESSAGES = 1000;
/** ...within Pushpin's 1 MB limit on a WebSocket-over-HTTP response. */
const WS_REPLAY_BUDGET_BYTES = 768 * 1024;

export interface WsRouteDeps {
  history: HistoryStore;
  publisher: MessagePublisher;
  requireGrip: RequestHandler;
  metrics: OriginMetrics;
  log: Logger;
  allowClientPublish: boolean;
  maxSubscriptions: number;
}

interface Session {
  connectionId: string;
  subscriptions: Set<string>;
  out: WebSocketEvent[];
  closed: boolean;
}

function sendFrame(session: Session, frame: string): void {
  session.out.push(clientTextEvent(frame));
}

function sendError(session: Session, problem: WsProtocolError): void {
  sendFrame(session, serverFrames.error(problem));
}

async function subscribe(deps: WsRouteDeps, session: Session, channel: string, since: string | undefined): Promise<void> {
  const isNew = !session.subscriptions.has(channel);
  if (isNew && session.subscriptions.size >= deps.maxSubscriptions) {
    return sendError(session, {
      error: 'too_many_subscriptions',
      message: `a connection may subscribe to at most ${deps.maxSubscriptions} channels; unsubscribe first`,
      channel,
    });
  }
  // Subscribe first in the answer: the proxy applies it before it relays the frames after it, so live
  // messages follow the replay. The replay ends at the channel's position read here.
  const { replay, seenUpTo } = await replayPosition(deps.history, channel, since, WS_REPLAY_MAX_MESSAGES);
  if (isNew) {
    session.out.push(gripControlEvent({ type: 'subscribe', channel: gripChannelFor('ws', channel) }));
    session.subscriptions.add(channel);
  }
  sendFrame(session, serverFrames.subscribed(channel, seenUpTo));
  let budget = WS_REPLAY_BUDGET_BYTES;
  let delivered = 0;
  for (const message of replay) {
    const frame = wsMessageFrame(message);
    budget -= Buffer.byteLength(frame) + 16;
    if (budget < 0) {
      sendError(session, {
        error: 'replay_truncated',
        message: `more messages are retained; subscribe again with since="${replay[delivered - 1]?.id ?? since}"`,
        channel,
      });
      break;
    }
    sendFrame(session, frame);
    delivered++;
  }
  if (delivered > 0) deps.metrics.messagesReplayed.inc({ transport: 'ws' }, delivered);
}

function unsubscribe(session: Session, channel: string): void {
  if (session.subscriptions.delete(channel)) {
    session.out.push(gripControlEvent({ type: 'unsubscribe', channel: gripChannelFor('ws', channel) }));
  }
  sendFrame(session, serverFrames.unsubscribed(channel));
}

async function publish(deps: WsRouteDeps, session: Session, command: Extract<ClientCommand, { type: 'publish' }>) {
  const { channel } = command;
  if (!deps.allowClientPublish) {
    return sendError(session, {
      error: 'publish_forbidden',
      message: 'clients may not publish here (the origin runs with ALLOW_CLIENT_PUBLISH=false)',
      channel,
    });
  }
  try {
    const input = validatePublishInput(command, 'message');
    const [message] = await deps.publisher.publish([input]);
    deps.metrics.messagesPublished.inc({ source: 'websocket' });
    sendFrame(session, serverFrames.published(channel, message!.id));
  } catch (error) {
    if (error instanceof PublishInputError || error instanceof ItemTooLargeError) {
      deps.metrics.publishErrors.inc({ kind: 'invalid' });
      const tooLarge = error instanceof ItemTooLargeError || error.status === 413;
      return sendError(session, { error: tooLarge ? 'message_too_large' : 'invalid_message', message: error.message, channel });
    }
    if (error instanceof HistoryConflictError) {
      deps.metrics.publishErrors.inc({ kind: 'conflict' });
      return sendError(session, { error: 'id_conflict', message: error.message, channel });
    }
    if (error instanceof DeliveryError) {
      deps.metrics.publishErrors.inc({ kind: 'delivery' });
      deps.log.error({ err: error.cause, connectionId: session.connectionId }, 'client publish to GRIP proxy failed');
      return sendError(session, { error: 'publish_failed', message: error.message, channel });
    }
    throw error;
  }
}

async function handleText(deps: WsRouteDeps, session: Session, text: string): Promise<void> {
  const command = parseClientFrame(text);
  if (isProtocolError(command)) {
    deps.metrics.websocketEvents.inc({ event: 'invalid' });
    return sendError(session, command);
  }
  deps.metrics.websocketEvents.inc({ event: command.type });
  switch (command.type) {
    case 'ping':
      return sendFrame(session, serverFrames.pong());
    case 'subscribe':
      return subscribe(deps, session, command.channel, command.since);
    case 'unsubscribe':
      return unsubscribe(session, command.channel);
    case 'publish':
      return publish(deps, session, command);
  }
}

async function handleEvent(deps: WsRouteDeps, session: Session, event: WebSocketEvent): Promise<void> {
  deps.metrics.websocketEvents.inc({ event: event.type.toLowerCase() });
  switch (event.type) {
    case 'OPEN':
      deps.metrics.holdsOpened.inc({ transport: 'ws' });
      session.out.push({ type: 'OPEN' });
      session.out.push(
        gripControlEvent({
          type: 'keep-alive',
          'message-type': 'ping',
          content: 'keep-alive',
          timeout: WS_KEEP_ALIVE_SECONDS,
        }),
      );
      return;
    case 'TEXT':
      try {
        return await handleText(deps, session, event.content?.toString('utf8') ?? '');
      } catch (error) {
        deps.log.error({ err: error, connectionId: session.connectionId }, 'websocket command failed');
        return sendError(session, { error: 'internal', message: 'the origin could not handle this frame; try again' });
      }
    case 'BINARY':
      sendError(session, { error: 'binary_unsupported', message: 'frames are JSON text; binary frames are not supported' });
      session.out.push(closeEvent(CLOSE_CODES.unsupportedData, 'binary frames are not supported'));
      session.closed = true;
      return;
    case 'PING':
      session.out.push(event.content === undefined ? { type: 'PONG' } : { type: 'PONG', content: event.content });
      return;
    case 'PONG':
      return;
    case 'CLOSE': {
      // Answer a close with a close carrying a real code (1005 means the client sent none).
      const { code } = closeStatusOf(event);
      session.out.push(closeEvent(code === 1005 ? CLOSE_CODES.normal : code));
      session.closed = true;
      return;
    }
    case 'DISCONNECT':
      session.closed = true;
      return;
  }
}

export function wsRoutes(deps: WsRouteDeps): Router {
  const router = Router();
  // The body is read only after the signature check passed, and as raw bytes (lengths are in bytes).
  const rawBody = express.raw({ type: () => true, limit: '2mb' });
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
    const session: Session = {
      connectionId,
      subscriptions: new Set(parseSubscriptionList(req.get(`meta-${SUBSCRIPTIONS_META}`))),
      out: [],
      closed: false,
    };
    for (const event of events) {
      if (session.closed) break;
      await handleEvent(deps, session, event);
    }
    res
      .status(200)
      .set({
        'Content-Type': WEBSOCKET_EVENTS_CONTENT_TYPE,
        'Sec-WebSocket-Extensions': 'grip',
        [`Set-Meta-${SUBSCRIPTIONS_META}`]: formatSubscriptionList(session.subscriptions),
      })
      .send(encodeWebSocketEvents(session.out));
  });
  router.get('/ws', deps.requireGrip, (_req: Request, res: Response) => {
    res
      .status(426)
      .set({ 'Cache-Control': 'no-store', Upgrade: 'websocket' })
      .json({ error: 'upgrade_required', message: 'connect with a WebSocket (Upgrade: websocket) through the GRIP proxy' });
  });
  return router;
}
