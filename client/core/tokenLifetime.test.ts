import { describe, expect, it } from 'vitest';
import { tokenExpiryMs, tokenRefreshAt } from './tokenLifetime.ts';

const jwt = (payload: object): string => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

describe('token lifetime', () => {
  it("reads a JWT's exp (base64url, no verification)", () => {
    expect(tokenExpiryMs(jwt({ exp: 1_800_000_000, channels: ['private-ü?>>'] }))).toBe(1_800_000_000_000);
    expect(tokenExpiryMs(jwt({ channels: [] }))).toBeUndefined();
    expect(tokenExpiryMs(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(tokenExpiryMs('not-a-jwt')).toBeUndefined();
    expect(tokenExpiryMs('a.!!!.c')).toBeUndefined();
  });

  it('refreshes a quarter of the lifetime before exp, 1 s to 60 s ahead, or at the given lead', () => {
    expect(tokenRefreshAt(0, 4000)).toBe(3000);
    expect(tokenRefreshAt(0, 2000)).toBe(1000);
    expect(tokenRefreshAt(0, 3_600_000)).toBe(3_540_000);
    expect(tokenRefreshAt(0, 10_000, 500)).toBe(9500);
    expect(tokenRefreshAt(5000, 5500)).toBe(5000);
    expect(tokenRefreshAt(0, undefined)).toBe(Infinity);
  });
});
