import { it } from 'vitest';
import { startTestStack } from './harness/testStack.ts';
import { rawRequest } from './harness/rawSocket.ts';

it('probe', async () => {
  const stack = await startTestStack({});
  try {
    const ok = async (pathLen: number, headerLen: number) => {
      const x = await rawRequest(stack.urls.pushpinProxy, `GET /api/channels/${'c'.repeat(pathLen)}/messages HTTP/1.1\r\nHost: localhost\r\npushpin-route: origin\r\n${headerLen ? `X-Big: ${'h'.repeat(headerLen)}\r\n` : ''}\r\n`, 5000);
      return x.status !== undefined;
    };
    let lo = 100, hi = 6000;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (await ok(mid, 0)) lo = mid; else hi = mid; }
    console.log('PROBE max path', lo);
    lo = 100; hi = 8000;
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (await ok(10, mid)) lo = mid; else hi = mid; }
    console.log('PROBE max header', lo);
    console.log('PROBE with 2000 header, max path:', await ok(2000, 2000), await ok(3000, 1500));
    console.log('PROBE', stack.logFiles.pushpin);
  } finally { await stack.stop(); }
}, 300000);
