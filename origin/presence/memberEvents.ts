// Member events to subscribers: each member_added / member_removed the tracker reports becomes a
// `presence` event (member_joined / member_left) published to the channel's presence-events channels
// (channels/gripChannels.ts), for the WebSockets and streams that asked for them. Live only (not in
// the history): a client that reconnects reads the presence anew. Published on their own, never in
// the way of a message publish; a failed one is reported and dropped.
import { ndjsonPresence, serverFrames, ssePresence, type PresenceEvent } from '../../protocol/index.ts';
import type { GripPublishItem } from '../publishing/gripItems.ts';
import { presenceEventsChannelFor } from '../channels/gripChannels.ts';
import type { PresenceListener } from './presenceTracker.ts';
import type { PresenceChange } from './presenceStore.ts';

/** The event subscribers see for a change, when it is a member's. */
export function memberEventOf(change: PresenceChange): PresenceEvent | undefined {
  if ((change.type !== 'member_added' && change.type !== 'member_removed') || change.clientId === undefined) return undefined;
  return {
    action: change.type === 'member_added' ? 'member_joined' : 'member_left',
    channel: change.channel,
    clientId: change.clientId,
    ...(change.info !== undefined ? { info: change.info } : {}),
    ts: change.ts,
  };
}

/** Two items per event: WebSocket frame and SSE event on one channel, the NDJSON line on another. */
export function itemsForMemberEvent(event: PresenceEvent): GripPublishItem[] {
  return [
    {
      channel: presenceEventsChannelFor('ws', event.channel),
      formats: { 'ws-message': { content: serverFrames.presence(event) }, 'http-stream': { content: ssePresence(event) } },
    },
    { channel: presenceEventsChannelFor('stream', event.channel), formats: { 'http-stream': { content: ndjsonPresence(event) } } },
  ];
}

export function memberEventAnnouncer(publish: (items: GripPublishItem[]) => Promise<unknown>, onError: (error: unknown) => void): PresenceListener {
  return (changes) => {
    const items = changes.flatMap((change) => {
      const event = memberEventOf(change);
      return event ? itemsForMemberEvent(event) : [];
    });
    if (items.length > 0) void publish(items).catch(onError);
  };
}
