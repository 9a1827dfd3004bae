// Error responses the edge produces itself. Short JSON bodies in the origin's error shape
// ({ error, message }), never cached, with no internal detail beyond the backend's name.

export function jsonError(status: number, error: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error, message }), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  });
}

/** The backend could not be reached (connection refused, DNS, TLS, timeout). */
export function badGateway(backend: string): Response {
  return jsonError(502, 'bad_gateway', `the origin backend "${backend}" could not be reached`, { 'x-origin-backend': backend });
}

/** Fanout refused the handoff (for example Fanout is not enabled, or the backend name is invalid). */
export function handoffFailed(backend: string): Response {
  return jsonError(502, 'bad_gateway', `the realtime request could not be handed to Fanout for backend "${backend}"`);
}

/** A realtime request whose target is longer than the proxy takes (see routing/handoffLimits.ts). */
export function handoffTargetTooLong(bytes: number, limit: number): Response {
  return jsonError(414, 'uri_too_long', `the request's path and query are ${bytes} bytes; realtime requests are limited to ${limit}`);
}
