// What a publisher may send, against hostile bodies (property-based): whatever JSON arrives, the
// answer is a PublishInputError (400/413) or inputs that are exactly what was sent and fit the
// proxy's publish limit once framed for every transport, with the widest id and every skip-users name.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidChannelName } from '../../protocol/index.ts';
import { itemsForStoredMessage, publishedItemBytes } from './gripItems.ts';
import { batchItems, PUBLISH_BODY_LIMIT_BYTES } from './gripPublisher.ts';
import {
  jsonDepth,
  MAX_DATA_DEPTH,
  MAX_ITEMS_PER_PUBLISH,
  parsePublishBody,
  PublishInputError,
  validatePublishInput,
  type PublishInput,
} from './publishInput.ts';

const validChannel = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/);
const invalidChannel = fc.oneof(
  fc.constantFrom('', '.dot', 'a:b', 'ws:news', 'c'.repeat(129), 'c'.repeat(10_000), 'ñ', 'a b', 'a/b', 'a\nb', '%2F', '__proto__x:'),
  fc.string().filter((s) => !isValidChannelName(s)),
);
const validId = fc.bigInt({ min: 1n, max: 10n ** 18n - 1n }).map(String);
/** JSON as publishers send it, with the awkward parts: unicode, lone surrogates, big numbers, deep-ish nesting. */
const data = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('\ud800', '\u0000', '\u2028', 1e308, -0, 0.1, '<script>', JSON.parse('{"__proto__":{"channel":"x"}}') as unknown, { constructor: 'x' }),
);
/** Anything a JSON body may parse to. */
const anyBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ channel: fc.oneof(validChannel, invalidChannel, fc.jsonValue()), data: fc.oneof(data, fc.constant(undefined)), id: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ items: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.record({ channel: validChannel, data }), { maxLength: 5 })) }),
);

/** Only the validation's own error may come out, with a status the route can answer with. */
function parseOrError(body: unknown): PublishInput[] | PublishInputError {
  try {
    return parsePublishBody(body);
  } catch (error) {
    if (error instanceof PublishInputError) {
      expect([400, 413]).toContain(error.status);
      expect(error.message.length).toBeLessThan(400);
      return error;
    }
    throw error;
  }
}

/** The framed size the proxy will see: real ids, a real timestamp, and the most skip-users names allowed. */
function fitsThePublishLimit(input: PublishInput): void {
  const skipUsers = Array.from({ length: 200 }, (_, i) => `user${String(i).padStart(8, '0')}`);
  const items = itemsForStoredMessage({ id: '999999999999999999', channel: input.channel, data: input.data, ts: Date.now() }, '999999999999999998', { skipUsers });
  for (const item of items) expect(publishedItemBytes(item) + '{"items":[]}'.length).toBeLessThanOrEqual(PUBLISH_BODY_LIMIT_BYTES);
  expect(() => batchItems(items, 100)).not.toThrow();
}

describe('publish input: hostile bodies (property-based)', () => {
  it('answers any JSON body with inputs or a 400/413, nothing else', () => {
    fc.assert(
      fc.property(anyBody, (body) => {
        const result = parseOrError(body);
        if (result instanceof PublishInputError) return;
        expect(result.length).toBeGreaterThan(0);
        for (const input of result) {
          expect(isValidChannelName(input.channel)).toBe(true);
          fitsThePublishLimit(input);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a valid message exactly as sent', () => {
    fc.assert(
      fc.property(validChannel, data, fc.option(validId, { nil: undefined }), (channel, value, id) => {
        const body = id === undefined ? { channel, data: value } : { channel, data: value, id };
        const [input] = parsePublishBody(JSON.parse(JSON.stringify(body)));
        // With the data's JSON text, serialised once for the store and the items.
        expect(input).toEqual({ ...JSON.parse(JSON.stringify(body)), dataJson: JSON.stringify(value) });
        fitsThePublishLimit(input!);
      }),
    );
  });

  it('refuses every invalid channel name, naming the field', () => {
    fc.assert(
      fc.property(invalidChannel, data, (channel, value) => {
        const error = parseOrError({ channel, data: value });
        expect(error).toBeInstanceOf(PublishInputError);
        expect((error as PublishInputError).status).toBe(400);
        expect((error as Error).message).toMatch(/^body\.channel must be/);
        // The name is not echoed back (it may be 10,000 characters, or markup).
        if (channel.length > 3) expect((error as Error).message).not.toContain(channel);
      }),
    );
  });

  it('refuses a whole batch for its first bad item, naming it, so nothing of it is stored', () => {
    const item = fc.oneof(
      fc.record({ channel: validChannel, data }).map((i) => ({ item: i, valid: true })),
      fc.oneof(
        fc.record({ channel: invalidChannel, data }),
        fc.record({ channel: validChannel }),
        fc.record({ channel: validChannel, data, id: fc.oneof(fc.constantFrom('0', '01', '-1', '1'.repeat(19), 'x', ''), fc.integer()) }),
        fc.jsonValue().filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      ).map((i) => ({ item: i as unknown, valid: false })),
    );
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 20 }), (entries) => {
        const result = parseOrError({ items: entries.map((e) => e.item) });
        const firstBad = entries.findIndex((e) => !e.valid);
        if (firstBad === -1) {
          expect(result).toHaveLength(entries.length);
        } else {
          expect(result).toBeInstanceOf(PublishInputError);
          expect((result as Error).message.startsWith(`items[${firstBad}]`)).toBe(true);
        }
      }),
    );
  });

  it('refuses data too large once framed with 413, and accepts everything up to it', () => {
    fc.assert(
      fc.property(validChannel, fc.integer({ min: 50_000, max: 70_000 }), fc.constantFrom('a', 'é', '"', '\u2028', '😀'), (channel, length, unit) => {
        const text = unit.repeat(Math.ceil(length / unit.length));
        const result = parseOrError({ channel, data: text });
        if (result instanceof PublishInputError) {
          expect(result.status).toBe(413);
          expect(result.message).toMatch(/too large/);
        } else {
          fitsThePublishLimit(result[0]!);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('takes messages of up to 62,412 one-byte characters (62,506 before SSE and long-poll shared an item, 62,444 before streams named `prev`)', () => {
    expect(validatePublishInput({ channel: 'a-channel-name', data: 'a'.repeat(62_412) }, 'body').data).toHaveLength(62_412);
    expect(() => validatePublishInput({ channel: 'a-channel-name', data: 'a'.repeat(62_413) }, 'body')).toThrow(/too large/);
  });

  it('refuses nesting deeper than the limit without recursing (a million levels)', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(jsonDepth(deep, MAX_DATA_DEPTH)).toBeGreaterThan(MAX_DATA_DEPTH);
    expect(() => validatePublishInput({ channel: 'c', data: deep }, 'body')).toThrow(/nests deeper than 100 levels/);
    let ok: unknown = 'leaf';
    for (let i = 1; i < MAX_DATA_DEPTH; i++) ok = { a: ok };
    expect(validatePublishInput({ channel: 'c', data: ok }, 'body').data).toBe(ok);
  });

  it('caps a batch at its item limit', () => {
    const items = Array.from({ length: MAX_ITEMS_PER_PUBLISH + 1 }, () => ({ channel: 'c', data: 1 }));
    expect(() => parsePublishBody({ items })).toThrow(/at most 1000 per request/);
    expect(parsePublishBody({ items: items.slice(1) })).toHaveLength(MAX_ITEMS_PER_PUBLISH);
    expect(() => parsePublishBody({ items: [] })).toThrow(/non-empty array/);
  });
});
