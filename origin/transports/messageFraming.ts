// One logical message in each transport's framing. Every path that delivers a message (live publish,
// history replay on connect) goes through these, so the bytes a client sees never depend on the path.
import type { ChannelMessage } from '../history/historyStore.ts';

export function envelopeOf(message: ChannelMessage): ChannelMessage {
  return { id: message.id, channel: message.channel, data: message.data, ts: message.ts };
}

/** An SSE event whose id is the message id, so EventSource's Last-Event-ID resumes from it. */
export function sseEvent(message: ChannelMessage): string {
  return `id: ${message.id}\ndata: ${JSON.stringify(envelopeOf(message))}\n\n`;
}

export function ndjsonLine(message: ChannelMessage): string {
  return `${JSON.stringify(envelopeOf(message))}\n`;
}

export function pollBody(messages: ChannelMessage[]): string {
  return `${JSON.stringify({ messages: messages.map(envelopeOf) })}\n`;
}

export function wsMessageFrame(message: ChannelMessage): string {
  return JSON.stringify({ type: 'message', ...envelopeOf(message) });
}
