import { describe, expect, it } from 'vitest';
import { BackendShare } from './backendShare.ts';

describe('BackendShare', () => {
  it('keeps an eighth of the pool (at least 2) from any one backend', () => {
    expect(new BackendShare(64).limit).toBe(56);
    expect(new BackendShare(16).limit).toBe(14);
    expect(new BackendShare(4).limit).toBe(2);
    expect(new BackendShare(2).limit).toBe(1);
    expect(new BackendShare(1).limit).toBe(1);
  });

  it('refuses a backend past its limit, counts each backend apart, and frees on release', () => {
    const share = new BackendShare(4);
    expect([share.tryAcquire('slow'), share.tryAcquire('slow'), share.tryAcquire('slow')]).toEqual([true, true, false]);
    expect(share.tryAcquire('other')).toBe(true);
    share.release('slow');
    expect(share.count('slow')).toBe(1);
    expect(share.tryAcquire('slow')).toBe(true);
    share.release('slow');
    share.release('slow');
    share.release('slow');
    expect(share.count('slow')).toBe(0);
  });
});
