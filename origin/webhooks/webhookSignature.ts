// How webhook requests are signed, as Stripe's are: `X-Webhook-Signature: t=<unix seconds>,v1=<hex>`,
// the HMAC-SHA256 under WEBHOOK_SECRET of "<t>.<raw body>". The timestamp is signed with the body, so
// a receiver that refuses old timestamps (5 minutes here) refuses replays; every attempt (retries
// too) is signed anew. `X-Webhook-Id` stays the same across a batch's retries, for deduplication.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'X-Webhook-Signature';
export const WEBHOOK_ID_HEADER = 'X-Webhook-Id';
/** How old a signature's timestamp may be (and how far ahead) before verifyWebhook refuses it. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

function digest(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${digest(secret, timestampSeconds, body)}`;
}

/** What a receiver does (the README's snippet does the same): the signature matches, and is recent. */
export function verifyWebhook(secret: string, body: string, header: string | undefined, nowSeconds: number, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS): boolean {
  const parts = new Map((header ?? '').split(',').map((part) => part.split('=', 2) as [string, string | undefined]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  return timingSafeEqual(Buffer.from(v1, 'hex'), Buffer.from(digest(secret, t, body), 'hex'));
}
