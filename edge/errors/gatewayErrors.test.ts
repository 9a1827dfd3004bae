import { describe, expect, it } from 'vitest';
import { badGateway, handoffFailed } from './gatewayErrors.ts';

describe('gateway errors', () => {
  it.each([
    ['badGateway', badGateway('origin_eu'), /origin_eu/],
    ['handoffFailed', handoffFailed('origin'), /Fanout/],
  ])('%s is a short uncacheable JSON 502', async (_name, response, message) => {
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('bad_gateway');
    expect(body.message).toMatch(message);
  });

  it('names the backend in x-origin-backend', () => {
    expect(badGateway('origin').headers.get('x-origin-backend')).toBe('origin');
  });
});
