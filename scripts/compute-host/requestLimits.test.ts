import { describe, expect, it } from 'vitest';
import { clientErrorStatus, GUEST_MAX_URL_BYTES, refuseOversizedUrl } from './requestLimits.ts';

describe('requests the guest cannot take', () => {
  it('lets a URL up to 8192 bytes through and refuses a longer one with 414, counting bytes', () => {
    const base = 'http://127.0.0.1:7676/';
    expect(refuseOversizedUrl(base + 'a'.repeat(GUEST_MAX_URL_BYTES - base.length))).toBeUndefined();
    const refused = refuseOversizedUrl(base + 'a'.repeat(GUEST_MAX_URL_BYTES - base.length + 1));
    expect(refused).toMatchObject({ status: 414, reason: 'URI Too Long' });
    expect(JSON.parse(refused!.body)).toEqual({ error: 'uri_too_long', message: expect.stringMatching(/8193 bytes.*at most 8192/) });
    // Multi-byte characters count as their bytes.
    expect(refuseOversizedUrl(base + 'é'.repeat(4090))).toBeDefined();
  });

  it('answers heads Node cannot read as Node would: 431 too large, 408 too slow, else 400', () => {
    expect(clientErrorStatus('HPE_HEADER_OVERFLOW')).toBe('431 Request Header Fields Too Large');
    expect(clientErrorStatus('ERR_HTTP_REQUEST_TIMEOUT')).toBe('408 Request Timeout');
    expect(clientErrorStatus('HPE_INVALID_METHOD')).toBe('400 Bad Request');
    expect(clientErrorStatus(undefined)).toBe('400 Bad Request');
  });
});
