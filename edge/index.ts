/// <reference types="@fastly/js-compute" />
// Minimal edge entry: realtime GETs and WebSocket upgrades go to Fanout, the rest to the origin.
// The full policy (configurable paths, cache rules, POP routing) is built in edge/ modules.
import { createFanoutHandoff } from 'fastly:fanout';

const REALTIME_PREFIXES = ['/events/', '/stream/', '/poll/', '/ws'];

addEventListener('fetch', (event) => event.respondWith(handleRequest(event.request)));

async function handleRequest(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const isUpgrade = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
  const isRealtimeGet =
    (request.method === 'GET' || request.method === 'HEAD') &&
    REALTIME_PREFIXES.some((prefix) => url.pathname.startsWith(prefix));
  if (isUpgrade || isRealtimeGet) {
    return createFanoutHandoff(request, 'origin');
  }
  return fetch(request, { backend: 'origin' });
}
