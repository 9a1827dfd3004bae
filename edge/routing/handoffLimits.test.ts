import { describe, expect, it } from 'vitest';
import { MAX_HANDOFF_TARGET_BYTES, oversizedHandoffTarget } from './handoffLimits.ts';

describe('oversizedHandoffTarget', () => {
  it('lets every request of the realtime contract through', () => {
    const channel = 'c'.repeat(128);
    for (const path of [`/events/${channel}?lastEventId=999999999999999999`, `/stream/${channel}?since=1`, `/poll/${channel}?since=0`, '/ws']) {
      expect(oversizedHandoffTarget(`https://edge.test${path}`)).toBeUndefined();
    }
  });

  it('counts path and query as sent, percent-encoding included, and refuses past the limit', () => {
    const path = `/events/${'c'.repeat(MAX_HANDOFF_TARGET_BYTES - '/events/'.length)}`;
    expect(oversizedHandoffTarget(`https://edge.test${path}`)).toBeUndefined();
    expect(oversizedHandoffTarget(`https://edge.test${path}?x`)).toBe(MAX_HANDOFF_TARGET_BYTES + 2);
    // "é" travels as %C3%A9: six bytes.
    expect(oversizedHandoffTarget(`https://edge.test/events/${'é'.repeat(700)}`)).toBe('/events/'.length + 4200);
  });
});
