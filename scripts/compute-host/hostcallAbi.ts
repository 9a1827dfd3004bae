// Constants of the Fastly Compute hostcall ABI (Viceroy's wasm_abi/compute-at-edge-abi/typenames.witx),
// shared by the guest worker and the main thread.

/** `fastly_status`: what every Fastly hostcall returns. */
export const Status = {
  OK: 0,
  ERROR: 1,
  INVAL: 2,
  BADF: 3,
  BUFLEN: 4,
  UNSUPPORTED: 5,
  BADALIGN: 6,
  HTTPINVALID: 7,
  HTTPUSER: 8,
  HTTPINCOMPLETE: 9,
  NONE: 10,
  HTTPHEADTOOLARGE: 11,
  HTTPINVALIDSTATUS: 12,
  LIMITEXCEEDED: 13,
  AGAIN: 14,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/**
 * `send_error_detail_tag`, in the order typenames.witx declares it (a witx enum numbers its cases
 * from 0 in declaration order), so each value is its position here.
 */
const SEND_ERROR_DETAIL_TAGS = [
  'UNINITIALIZED',
  'OK',
  'DNS_TIMEOUT',
  'DNS_ERROR',
  'DESTINATION_NOT_FOUND',
  'DESTINATION_UNAVAILABLE',
  'DESTINATION_IP_UNROUTABLE',
  'CONNECTION_REFUSED',
  'CONNECTION_TERMINATED',
  'CONNECTION_TIMEOUT',
  'CONNECTION_LIMIT_REACHED',
  'TLS_CERTIFICATE_ERROR',
  'TLS_CONFIGURATION_ERROR',
  'HTTP_INCOMPLETE_RESPONSE',
  'HTTP_RESPONSE_HEADER_SECTION_TOO_LARGE',
  'HTTP_RESPONSE_BODY_TOO_LARGE',
  'HTTP_RESPONSE_TIMEOUT',
  'HTTP_RESPONSE_STATUS_INVALID',
  'HTTP_UPGRADE_FAILED',
  'HTTP_PROTOCOL_ERROR',
  'HTTP_REQUEST_CACHE_KEY_INVALID',
  'HTTP_REQUEST_URI_INVALID',
  'INTERNAL_ERROR',
  'TLS_ALERT_RECEIVED',
  'TLS_PROTOCOL_ERROR',
  'H2_ERROR',
] as const;

export type SendErrorTagName = (typeof SEND_ERROR_DETAIL_TAGS)[number];

export const SendErrorTag = Object.fromEntries(SEND_ERROR_DETAIL_TAGS.map((name, index) => [name, index])) as Record<
  SendErrorTagName,
  number
>;

/** Byte offsets in `send_error_detail` (tag u32, mask u32, then the optional fields the mask names). */
export const SEND_ERROR_DETAIL_MASK_OFFSET = 4;

/** `cache_override_tag` flags. */
export const CacheOverrideFlag = { PASS: 1, TTL: 2, SWR: 4, PCI: 8 } as const;

/** `http_version` enum. */
export const HttpVersion = { HTTP_09: 0, HTTP_10: 1, HTTP_11: 2, H2: 3, H3: 4 } as const;

/** `backend_health` enum. */
export const BackendHealth = { UNKNOWN: 0, HEALTHY: 1, UNHEALTHY: 2 } as const;

/** The handle value the ABI uses for "no handle". */
export const INVALID_HANDLE = 0xffffffff;

/** `async_io.select` writes this index when its timeout passed first. */
export const SELECT_TIMED_OUT = 0xffffffff;
