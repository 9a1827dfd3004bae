// Which `send_error_detail_tag` a failed backend request reports to the guest, from the Node error
// that ended it (an errno code, an llhttp parse error, a TLS verification code) or the host's own
// reasons (first-byte timeout, the backend's share of workers used up, the client gone).
import { SendErrorTag } from './hostcallAbi.ts';

/** Codes the host gives its own failures, next to Node's. */
export const HostSendFailure = {
  FIRST_BYTE_TIMEOUT: 'COMPUTE_HOST_FIRST_BYTE_TIMEOUT',
  CONNECTION_LIMIT: 'COMPUTE_HOST_CONNECTION_LIMIT',
  CLIENT_GONE: 'COMPUTE_HOST_CLIENT_GONE',
} as const;

const BY_CODE: Record<string, number> = {
  ECONNREFUSED: SendErrorTag.CONNECTION_REFUSED,
  ENOTFOUND: SendErrorTag.DNS_ERROR,
  EAI_NONAME: SendErrorTag.DNS_ERROR,
  EAI_FAIL: SendErrorTag.DNS_ERROR,
  EAI_AGAIN: SendErrorTag.DNS_TIMEOUT,
  ETIMEDOUT: SendErrorTag.CONNECTION_TIMEOUT,
  ECONNRESET: SendErrorTag.CONNECTION_TERMINATED,
  ECONNABORTED: SendErrorTag.CONNECTION_TERMINATED,
  EPIPE: SendErrorTag.CONNECTION_TERMINATED,
  EHOSTUNREACH: SendErrorTag.DESTINATION_IP_UNROUTABLE,
  ENETUNREACH: SendErrorTag.DESTINATION_IP_UNROUTABLE,
  EADDRNOTAVAIL: SendErrorTag.DESTINATION_IP_UNROUTABLE,
  HPE_INVALID_STATUS: SendErrorTag.HTTP_RESPONSE_STATUS_INVALID,
  HPE_HEADER_OVERFLOW: SendErrorTag.HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE,
  EPROTO: SendErrorTag.TLS_PROTOCOL_ERROR,
  [HostSendFailure.FIRST_BYTE_TIMEOUT]: SendErrorTag.HTTP_RESPONSE_TIMEOUT,
  [HostSendFailure.CONNECTION_LIMIT]: SendErrorTag.CONNECTION_LIMIT_REACHED,
  // The host cancelled it for nobody; no tag describes that better.
  [HostSendFailure.CLIENT_GONE]: SendErrorTag.INTERNAL_ERROR,
};

/** Node's certificate verification failures (tls.TLSSocket#authorizationError codes). */
const CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function sendErrorTagFor(code: string | undefined): number {
  if (code === undefined) return SendErrorTag.INTERNAL_ERROR;
  const known = BY_CODE[code];
  if (known !== undefined) return known;
  if (CERTIFICATE_CODES.has(code)) return SendErrorTag.TLS_CERTIFICATE_ERROR;
  if (code.startsWith('ERR_SSL_')) return SendErrorTag.TLS_PROTOCOL_ERROR;
  // Any other llhttp error: the backend spoke broken HTTP.
  if (code.startsWith('HPE_')) return SendErrorTag.HTTP_PROTOCOL_ERROR;
  return SendErrorTag.INTERNAL_ERROR;
}
