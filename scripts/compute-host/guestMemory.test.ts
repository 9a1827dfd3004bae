import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { memoryImageOf, restoreMemory } from './guestMemory.ts';

const PAGE = 4096;

describe('restoring a guest memory to its image', () => {
  it('gives back the image byte for byte, whatever was written where', () => {
    fc.assert(
      fc.property(
        // An image with data here and there (zero pages between, a partial last page) ...
        fc.integer({ min: 1, max: 40 }).chain((pages) =>
          fc.tuple(
            fc.constant(pages * PAGE - 123),
            fc.array(fc.tuple(fc.nat(pages * PAGE - 124), fc.integer({ min: 1, max: 255 })), { maxLength: 60 }),
            // ... and a guest that wrote anywhere, zeros and data alike.
            fc.array(fc.tuple(fc.nat(pages * PAGE - 124), fc.integer({ min: 0, max: 255 })), { maxLength: 200 }),
          ),
        ),
        ([length, data, writes]) => {
          const bytes = new Uint8Array(length);
          for (const [at, value] of data) bytes[at] = value;
          const image = memoryImageOf(bytes);
          const memory = bytes.slice();
          for (const [at, value] of writes) memory[at] = value;
          restoreMemory(memory, image);
          expect(Buffer.from(memory).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
    );
  });

  it('records only the pages that hold data, merged into spans', () => {
    const bytes = new Uint8Array(5 * PAGE);
    bytes[10] = 1;
    bytes[PAGE + 5] = 2;
    bytes[3 * PAGE + PAGE - 1] = 3;
    expect([...memoryImageOf(bytes).dataSpans]).toEqual([0, 2 * PAGE, 3 * PAGE, 4 * PAGE]);
    expect([...memoryImageOf(new Uint8Array(PAGE)).dataSpans]).toEqual([]);
  });

  it('refuses a memory of another size (a grown one is replaced, never reset)', () => {
    const image = memoryImageOf(new Uint8Array(PAGE));
    expect(() => restoreMemory(new Uint8Array(2 * PAGE), image)).toThrow(/cannot restore 4096 bytes of memory into 8192/);
  });
});
