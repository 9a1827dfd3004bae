// Requests the host refuses before a guest runs: heads Node cannot read, and URLs the guest cannot.
// js-compute-runtime 3.46 reads the client request's URL (scheme, host, path and query) into a
// buffer of 8192 bytes with no retry: a longer URL makes its request setup throw ("init_request:
// Buffer length error. Buffer is too long.") before the app's handler exists, which Viceroy answers
// with a bare 500. Fastly's SDKs share the limit (the Rust SDK's DEFAULT_MAX_URL_BYTES is 8192). The
// host answers 414 instead, so a client sees what went wrong; on Fastly such a request fails inside
// the runtime.

/** The longest URL (as the guest sees it: `http://host/path?query`) js-compute-runtime can read. */
export const GUEST_MAX_URL_BYTES = 8192;

export interface RefusedRequest {
  status: 414;
  reason: string;
  body: string;
}

export function refuseOversizedUrl(uri: string): RefusedRequest | undefined {
  const bytes = Buffer.byteLength(uri);
  if (bytes <= GUEST_MAX_URL_BYTES) return undefined;
  return {
    status: 414,
    reason: 'URI Too Long',
    body: `${JSON.stringify({
      error: 'uri_too_long',
      message: `the URL is ${bytes} bytes; the Compute guest (js-compute-runtime) reads at most ${GUEST_MAX_URL_BYTES}`,
    })}\n`,
  };
}

/**
 * The status line for a request Node could not read, as Node itself would answer it: a head too large
 * is 431, one that took too long (the head timeout) 408, anything else malformed 400.
 */
export function clientErrorStatus(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  return '400 Bad Request';
}
