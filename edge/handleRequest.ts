/// <reference types="@fastly/js-compute" />
// Binds the edge policies to the Fastly runtime: reads the Config Store and FASTLY_POP, strips
// proxy-only headers, then either hands the request to Fanout or forwards it through the cache.
// Every decision is made by a pure function in routing/, caching/ or security/; this file only applies them.
import { Backend } from 'fastly:backend';
import { CacheOverride } from 'fastly:cache-override';
import { ConfigStore } from 'fastly:config-store';
import { env } from 'fastly:env';
import { createFanoutHandoff } from 'fastly:fanout';
import { planCaching, type CacheDecision } from './caching/cachePolicy.ts';
import { badGateway, handoffFailed, handoffTargetTooLong, jsonError } from './errors/gatewayErrors.ts';
import { selectBackend, type BackendHealth } from './routing/backendSelection.ts';
import { MAX_HANDOFF_TARGET_BYTES, oversizedHandoffTarget } from './routing/handoffLimits.ts';
import { decideHandoff } from './routing/handoffPolicy.ts';
import { withoutProxyOnlyHeaders } from './security/headerSanitizer.ts';
import { placeSubscribeToken } from './security/subscribeTokenPlacement.ts';
import { EDGE_SETTINGS_STORE, parseEdgeSettings, type EdgeSettings, type SettingsReader } from './settings/edgeSettings.ts';

/** Response header naming the backend that served a forwarded request. */
export const ORIGIN_BACKEND_HEADER = 'x-origin-backend';

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function settingsReader(): SettingsReader {
  try {
    const store = new ConfigStore(EDGE_SETTINGS_STORE);
    return (key) => store.get(key);
  } catch (error) {
    console.error(`edge: config store "${EDGE_SETTINGS_STORE}" is unavailable (${errorMessage(error)}); using built-in defaults`);
    return () => null;
  }
}

export function loadEdgeSettings(): EdgeSettings {
  const { settings, problems } = parseEdgeSettings(settingsReader());
  for (const problem of problems) console.error(`edge: ${EDGE_SETTINGS_STORE}.${problem.message}`);
  return settings;
}

/** Health as the platform knows it; `unknown` where the host cannot tell (for example a local host). */
export function backendHealth(name: string): BackendHealth {
  try {
    if (!Backend.exists(name)) return 'missing';
    return Backend.fromName(name).health();
  } catch {
    return 'unknown';
  }
}

function cacheOverrideFor(decision: CacheDecision): CacheOverride {
  switch (decision.mode) {
    case 'pass':
      return new CacheOverride('pass');
    case 'override':
      return new CacheOverride('override', { ttl: decision.ttl });
    case 'none':
      return new CacheOverride('none');
  }
}

async function forwardThroughCache(request: Request, settings: EdgeSettings, backend: string): Promise<Response> {
  const plan = planCaching(request, settings);
  // Only GET/HEAD have their URL rewritten, so no body is lost by building a new Request.
  const upstream = plan.url === request.url ? request : new Request(plan.url, { method: request.method, headers: request.headers });
  let response: Response;
  try {
    response = await fetch(upstream, { backend, cacheOverride: cacheOverrideFor(plan.decision) });
  } catch (error) {
    console.error(`edge: backend "${backend}" unreachable for ${request.method} ${new URL(request.url).pathname}: ${errorMessage(error)}`);
    return badGateway(backend);
  }
  const headers = new Headers(response.headers);
  headers.set(ORIGIN_BACKEND_HEADER, backend);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * The client's request as a new Request without the client-sent proxy-only headers; Fanout and the
 * cache path get this one (or one built from it), never `event.request` itself. js-compute 3.46 keeps
 * the downstream request's headers on its host handle: deletions made in JS after the headers were
 * read never reach that handle (RequestOrResponse::commit_headers only sets and appends), and
 * createFanoutHandoff sends the handle. A new Request gets a fresh handle holding exactly these
 * headers. The body moves over unread (in js-compute a host-side append), so a publish still streams;
 * on a handoff the proxy keeps the downstream Upgrade/Connection/Sec-WebSocket-* itself.
 */
function withoutClientProxyHeaders(downstream: Request): Request {
  const { headers, removed } = withoutProxyOnlyHeaders(downstream.headers);
  if (removed.length > 0) console.log(`edge: removed client-sent proxy headers: ${removed.join(', ')}`);
  return new Request(downstream, { headers });
}

/** The request with its `?token=` moved into Authorization (a GET/HEAD: no body to carry over), or a 400. */
function withTokenInHeader(request: Request): Request | Response {
  const placed = placeSubscribeToken(request.method, request.url, request.headers.get('authorization'));
  if (placed.kind === 'none') return request;
  if (placed.kind === 'ambiguous') return jsonError(400, 'bad_request', placed.message);
  const headers = new Headers(request.headers);
  headers.set('authorization', placed.authorization);
  return new Request(placed.url, { method: request.method, headers });
}

export async function handleRequest(downstream: Request): Promise<Response> {
  const settings = loadEdgeSettings();
  const request = withTokenInHeader(withoutClientProxyHeaders(downstream));
  if (request instanceof Response) return request;

  const choice = selectBackend(env('FASTLY_POP'), settings.popBackends, backendHealth);
  if (choice.skipped) {
    console.error(`edge: backend "${choice.skipped.backend}" is ${choice.skipped.health}; using the default "${choice.backend}"`);
  }

  if (decideHandoff(request, settings).handoff) {
    const oversized = oversizedHandoffTarget(request.url);
    if (oversized !== undefined) return handoffTargetTooLong(oversized, MAX_HANDOFF_TARGET_BYTES);
    try {
      return createFanoutHandoff(request, choice.backend);
    } catch (error) {
      console.error(`edge: Fanout handoff to "${choice.backend}" failed: ${errorMessage(error)}`);
      return handoffFailed(choice.backend);
    }
  }
  return forwardThroughCache(request, settings, choice.backend);
}
