import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from './webhookSignature.ts';

const SECRET = 'a-webhook-secret-of-at-least-32-bytes!!';
const BODY = '{"time_ms":1,"events":[]}';

describe('webhook signatures', () => {
  it('signs "<t>.<body>" with HMAC-SHA256, as a receiver recomputes it', () => {
    const header = signWebhook(SECRET, BODY, 1_800_000_000);
    expect(header).toBe(`t=1800000000,v1=${createHmac('sha256', SECRET).update(`1800000000.${BODY}`).digest('hex')}`);
    expect(verifyWebhook(SECRET, BODY, header, 1_800_000_100)).toBe(true);
  });

  it('refuses another body, another secret, an old or future timestamp, and anything malformed', () => {
    const header = signWebhook(SECRET, BODY, 1_800_000_000);
    expect(verifyWebhook(SECRET, `${BODY} `, header, 1_800_000_000)).toBe(false);
    expect(verifyWebhook(`${SECRET}x`, BODY, header, 1_800_000_000)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, header, 1_800_000_301)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, header, 1_799_999_699)).toBe(false);
    // The timestamp is signed: moving it breaks the signature.
    expect(verifyWebhook(SECRET, BODY, header.replace('t=1800000000', 't=1800000100'), 1_800_000_100)).toBe(false);
    for (const bad of [undefined, '', 'v1=abc', 't=x,v1=00', `t=1800000000,v1=${'0'.repeat(63)}`]) expect(verifyWebhook(SECRET, BODY, bad, 1_800_000_000)).toBe(false);
  });
});
