// One logical message in each transport's framing. Every path that delivers a message (live publish,
// history replay on connect) goes through these, so the bytes a client sees never depend on the path.
// The envelope is serialised once per message and spliced into each framing (publishing is hot).
import type { ChannelMessage } from '../history/historyStore.ts';

export function envelopeOf(message: ChannelMessage): ChannelMessage {
  return { id: message.id, channel: message.channel, data: message.data, ts: message.ts };
}

/** The envelope's JSON: `{"id","channel","data","ts"}`. */
export function envelopeJson(message: ChannelMessage): string {
  return JSON.stringify(envelopeOf(message));
}

/** An SSE event whose id is the message id, so EventSource's Last-Event-ID resumes from it. */
export function sseEvent(message: ChannelMessage, json = envelopeJson(message)): string {
  return `id: ${message.id}\ndata: ${json}\n\n`;
}

export function ndjsonLine(message: ChannelMessage, json = envelopeJson(message)): string {
  return `${json}\n`;
}

export function pollBody(messages: ChannelMessage[], jsons = messages.map(envelopeJson)): string {
  return `{"messages":[${jsons.join(',')}]}\n`;
}

/** `{"type":"message", ...envelope}`, built by splicing the envelope's JSON after the type. */
export function wsMessageFrame(message: ChannelMessage, json = envelopeJson(message)): string {
  return `{"type":"message",${json.slice(1)}`;
}
