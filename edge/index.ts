/// <reference types="@fastly/js-compute" />
// The Compute entry point: realtime requests go to Fanout, everything else through the cache.
// The logic lives in handleRequest.ts and the policy modules beside it.
import { handleRequest } from './handleRequest.ts';

addEventListener('fetch', (event) => event.respondWith(handleRequest(event.request)));
