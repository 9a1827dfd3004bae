// The message envelope every transport carries: `{ "id", "channel", "data", "ts" }`. A message
// published straight to the proxy (not through the origin) is not in the history and has no id.
import { isValidChannelName } from './channelNames.ts';
import { isMessageId } from './messageIds.ts';

export interface Envelope {
  /** The message's position on its channel; absent on a live-only message. */
  id?: string;
  channel: string;
  data: unknown;
  /** Milliseconds since the epoch, when the message was accepted. */
  ts: number;
}

/** A stored message: it always has its id. */
export interface StoredEnvelope extends Envelope {
  id: string;
}

/** Only the envelope's fields, in their order (anything else a caller's object holds stays out). */
export function envelopeOf(message: Envelope): Envelope {
  return message.id === undefined
    ? { channel: message.channel, data: message.data, ts: message.ts }
    : { id: message.id, channel: message.channel, data: message.data, ts: message.ts };
}

export function envelopeJson(message: Envelope): string {
  return JSON.stringify(envelopeOf(message));
}

/**
 * envelopeJson of a stored message whose data is already JSON text (`dataJson`, exactly
 * JSON.stringify(data)): the same string without serialising the data again. Ids are digits and
 * channel names a fixed alphabet (isValidChannelName), so neither needs escaping.
 */
export function storedEnvelopeJson(message: StoredEnvelope, dataJson: string): string {
  return `{"id":"${message.id}","channel":"${message.channel}","data":${dataJson},"ts":${JSON.stringify(message.ts)}}`;
}

/** Whether a value received from the wire is an envelope (clients check before they trust it). */
export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    isValidChannelName(v.channel) &&
    'data' in v &&
    typeof v.ts === 'number' &&
    Number.isFinite(v.ts) &&
    (v.id === undefined || isMessageId(v.id))
  );
}
