import { describe, expect, it } from 'vitest';
import { multiStreamRequestOf, type MultiStreamInput } from './multiStreamRequest.ts';
import { RequestParamError } from './realtimeRequest.ts';

const SSE = (channelParams: unknown, header?: string, query?: unknown): MultiStreamInput => ({
  channelParams,
  positions: [
    ['last-event-id', header],
    ['lastEventId', query],
  ],
  presenceEvents: false,
});

const channelsOf = (input: MultiStreamInput) => multiStreamRequestOf(input).channels;
const refusal = (input: MultiStreamInput): string => {
  try {
    multiStreamRequestOf(input);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestParamError);
    return (error as Error).message;
  }
  throw new Error('not refused');
};

describe('a multi-channel stream request', () => {
  it('takes its channels in order, each optionally with its position', () => {
    expect(channelsOf(SSE(['a', 'b:42', 'c']))).toEqual([{ channel: 'a' }, { channel: 'b', since: '42' }, { channel: 'c' }]);
    expect(channelsOf(SSE('solo:7'))).toEqual([{ channel: 'solo', since: '7' }]);
  });

  it('lets a stream position (Last-Event-ID first, then the query) replace the positions of the channels it names', () => {
    expect(channelsOf(SSE(['a:1', 'b:2', 'c'], 'a:10,c:30', 'b:99'))).toEqual([
      { channel: 'a', since: '10' },
      { channel: 'b', since: '2' },
      { channel: 'c', since: '30' },
    ]);
    expect(channelsOf(SSE(['a:1', 'b:2'], undefined, 'b:20'))).toEqual([{ channel: 'a', since: '1' }, { channel: 'b', since: '20' }]);
    // An empty header (an EventSource with nothing yet) is no position.
    expect(channelsOf(SSE(['a', 'b'], '', 'a:5'))).toEqual([{ channel: 'a', since: '5' }, { channel: 'b' }]);
  });

  it('takes a bare message id as the position of a stream of one channel only', () => {
    expect(channelsOf(SSE(['a'], '42'))).toEqual([{ channel: 'a', since: '42' }]);
    expect(refusal(SSE(['a', 'b'], '42'))).toMatch(/single message id, which names no channel; a stream of 2 channels resumes from a position naming each/);
  });

  it('refuses no channel, a bad name or position, a channel twice, and a position naming another channel', () => {
    expect(refusal(SSE(undefined))).toMatch(/name the stream's channels: \?channel=a&channel=b/);
    expect(refusal(SSE([]))).toMatch(/name the stream's channels/);
    expect(refusal(SSE(['a', '.b']))).toMatch(/must be a channel name/);
    expect(refusal(SSE(['a:x']))).toMatch(/must be followed by a message id/);
    expect(refusal(SSE(['a', 'b', 'a:3']))).toMatch(/names a twice/);
    expect(refusal(SSE([{ x: 1 }]))).toMatch(/plain query parameter/);
    expect(refusal(SSE(['a', 'b'], 'a:1,z:2'))).toMatch(/last-event-id names z, which is not a channel of this stream/);
    expect(refusal(SSE(['a', 'b'], undefined, 'a:1;b:2'))).toMatch(/lastEventId: a stream position is a list of channel:id pairs/);
    expect(refusal(SSE(['a', 'b'], undefined, ['a:1', 'b:2']))).toMatch(/lastEventId must be given once/);
  });

  it("takes a next link's position as the whole request: every channel, in its order", () => {
    const link = { ...SSE(['ignored']), linkPosition: 'b:5,a:9', presenceEvents: true };
    expect(multiStreamRequestOf(link)).toEqual({ channels: [{ channel: 'b', since: '5' }, { channel: 'a', since: '9' }], presenceEvents: true });
    expect(refusal({ ...link, linkPosition: 'b:5,' })).toMatch(/the link's position/);
  });
});
