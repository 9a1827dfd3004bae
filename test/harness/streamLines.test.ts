import { describe, expect, it } from 'vitest';
import { streamLines } from './streamLines.ts';

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

describe('streamLines', () => {
  it('yields whole lines across chunk boundaries, including a character split between chunks', async () => {
    const bytes = new TextEncoder().encode('a\n{"x":"é"}\n\nlast');
    const split = bytes.indexOf(0xc3) + 1; // inside the two-byte é
    const lines: string[] = [];
    for await (const line of streamLines(chunks(bytes.slice(0, 1), bytes.slice(1, split), bytes.slice(split)))) lines.push(line);
    expect(lines).toEqual(['a', '{"x":"é"}', '']);
  });
});
