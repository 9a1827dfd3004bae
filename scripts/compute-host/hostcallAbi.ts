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

/** `send_error_detail_tag` values the host reports. */
export const SendErrorTag = {
  UNINITIALIZED: 0,
  OK: 1,
  DNS_TIMEOUT: 2,
  DNS_ERROR: 3,
  DESTINATION_NOT_FOUND: 4,
  DESTINATION_UNAVAILABLE: 5,
  DESTINATION_IP_UNROUTABLE: 6,
  CONNECTION_REFUSED: 7,
  CONNECTION_TERMINATED: 8,
  CONNECTION_TIMEOUT: 9,
  HTTP_INCOMPLETE_RESPONSE: 13,
  HTTP_PROTOCOL_ERROR: 20,
  INTERNAL_ERROR: 23,
} as const;

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
