import { describe, expect, it } from 'vitest';
import { SendErrorTag } from './hostcallAbi.ts';
import { HostSendFailure, sendErrorTagFor } from './sendErrorDetail.ts';

describe('send_error_detail_tag', () => {
  it('numbers the tags as Viceroy\'s typenames.witx declares them', () => {
    expect(SendErrorTag).toMatchObject({
      UNINITIALIZED: 0,
      OK: 1,
      DNS_TIMEOUT: 2,
      DNS_ERROR: 3,
      DESTINATION_IP_UNROUTABLE: 6,
      CONNECTION_REFUSED: 7,
      CONNECTION_TERMINATED: 8,
      CONNECTION_TIMEOUT: 9,
      CONNECTION_LIMIT_REACHED: 10,
      TLS_CERTIFICATE_ERROR: 11,
      HTTP_INCOMPLETE_RESPONSE: 13,
      HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE: 14,
      HTTP_RESPONSE_TIMEOUT: 16,
      HTTP_RESPONSE_STATUS_INVALID: 17,
      HTTP_PROTOCOL_ERROR: 19,
      INTERNAL_ERROR: 22,
      TLS_ALERT_RECEIVED: 23,
      TLS_PROTOCOL_ERROR: 24,
      H2_ERROR: 25,
    });
  });

  it.each([
    ['ECONNREFUSED', 'CONNECTION_REFUSED'],
    ['ENOTFOUND', 'DNS_ERROR'],
    ['EAI_AGAIN', 'DNS_TIMEOUT'],
    ['ETIMEDOUT', 'CONNECTION_TIMEOUT'],
    ['ECONNRESET', 'CONNECTION_TERMINATED'],
    ['EPIPE', 'CONNECTION_TERMINATED'],
    ['EHOSTUNREACH', 'DESTINATION_IP_UNROUTABLE'],
    ['HPE_INVALID_STATUS', 'HTTP_RESPONSE_STATUS_INVALID'],
    ['HPE_HEADER_OVERFLOW', 'HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE'],
    ['HPE_INVALID_CHUNK_SIZE', 'HTTP_PROTOCOL_ERROR'],
    ['HPE_INVALID_HEADER_TOKEN', 'HTTP_PROTOCOL_ERROR'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_CERTIFICATE_ERROR'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_CERTIFICATE_ERROR'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_PROTOCOL_ERROR'],
    [HostSendFailure.FIRST_BYTE_TIMEOUT, 'HTTP_RESPONSE_TIMEOUT'],
    [HostSendFailure.CONNECTION_LIMIT, 'CONNECTION_LIMIT_REACHED'],
    ['ESOMETHINGELSE', 'INTERNAL_ERROR'],
    [undefined, 'INTERNAL_ERROR'],
  ] as const)('maps %s to %s', (code, tag) => {
    expect(sendErrorTagFor(code)).toBe(SendErrorTag[tag]);
  });
});
