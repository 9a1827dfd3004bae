// Every publish path reaches every transport's current subscribers exactly once, through the edge as a
// user connects: through the origin (POST /api/publish, the CLI's --target origin, a WebSocket
// client's publish) and straight to the proxy (the CLI's --grip-url and GRIP_URL, --target fastly via
// a stand-in that relays to Pushpin as Fastly's API would, js-grip's Publisher, and the curl of docs/publishing.md).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Publisher, WebSocketMessageFormat } from '@fanoutio/grip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/shared/projectRoot.ts';
import { subscribeEvery, type EveryTransport } from '../harness/everyTransport.ts';
import { runPublishCli } from '../harness/publishCli.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';
import { recordWs } from '../harness/wsClient.ts';
import WebSocket from 'ws';
import { createClient } from '../../client/index.ts';
import { nodeHttpFetch } from '../../scripts/client/nodeHttpFetch.ts';
import { recordSubscription } from '../harness/clientRecorder.ts';

let stack: TestStack;
let relay: { url: string; server: Server; requests: number };

/** Stands in for api.fastly.com: checks the Fastly-Key and relays the body to Pushpin's publish port. */
async function startFastlyRelay(publishUrl: string, key: string): Promise<typeof relay> {
  const state = { url: '', server: createServer(), requests: 0 };
  state.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      if (req.headers['fastly-key'] !== key || !/^\/service\/[A-Za-z0-9]+\/publish\/$/.test(req.url ?? '')) {
        res.writeHead(401).end('{"msg":"Provided credentials are missing or invalid"}');
        return;
      }
      fetch(`${publishUrl}/publish/`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.concat(chunks) })
        .then(async (upstream) => res.writeHead(upstream.status).end(Buffer.from(await upstream.arrayBuffer())))
        .catch((error: Error) => res.writeHead(502).end(error.message));
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

beforeAll(async () => {
  stack = await startTestStack({ edge: true, originEnv: { ALLOW_CLIENT_PUBLISH: 'true', LONG_POLL_TIMEOUT_SECONDS: '30' } });
  relay = await startFastlyRelay(stack.urls.pushpinPublish, 'fastly-test-token-123');
});
afterAll(async () => {
  relay?.server.close();
  await stack?.stop();
});

/** The curl command docs/publishing.md documents for publishing straight to the proxy. */
function readmeCurlBody(channel: string): string {
  const readme = readFileSync(join(PROJECT_ROOT, 'docs/publishing.md'), 'utf8');
  const block = /<!-- direct-publish-curl -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('docs/publishing.md has no <!-- direct-publish-curl --> example');
  const body = /<<'EOF'\n([\s\S]*?)\nEOF/.exec(block)?.[1];
  if (!body || !block.includes('http://127.0.0.1:5561/publish/')) throw new Error('the docs/publishing.md curl example has changed shape');
  return body.replaceAll('news', channel);
}

interface PublishPath {
  name: string;
  /** Whether the origin stores it (it then has an id; otherwise it is live-only). */
  stored: boolean;
  publish(channel: string, data: string): Promise<void>;
}

const execFileAsync = promisify(execFile);

const PATHS: PublishPath[] = [
  {
    name: 'POST /api/publish',
    stored: true,
    publish: async (channel, data) => {
      const response = await stack.publish({ channel, data });
      expect(response.status, await response.clone().text()).toBe(200);
    },
  },
  {
    name: 'the CLI, --target origin',
    stored: true,
    publish: async (channel, data) => {
      const run = await runPublishCli([channel, data, '--target', 'origin'], {
        env: { ORIGIN_URL: stack.urls.origin, PUBLISH_TOKEN: stack.publishToken },
      });
      expect(run.code, run.stderr).toBe(0);
    },
  },
  {
    name: "a WebSocket client's publish",
    stored: true,
    publish: async (channel, data) => {
      const client = recordWs(stack.urls.edge!);
      try {
        await client.opened;
        client.send({ type: 'publish', channel, data });
        await client.waitFor(1, (f) => f.type === 'published');
      } finally {
        client.close();
      }
    },
  },
  {
    name: 'the CLI, --grip-url',
    stored: false,
    publish: async (channel, data) => {
      const run = await runPublishCli([channel, data, '--grip-url', stack.urls.pushpinPublish]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/sse, stream, poll and ws, live only/);
    },
  },
  {
    name: 'the CLI with GRIP_URL',
    stored: false,
    publish: async (channel, data) => {
      const run = await runPublishCli([channel, data], { env: { GRIP_URL: stack.urls.pushpinPublish } });
      expect(run.code, run.stderr).toBe(0);
    },
  },
  {
    name: 'the CLI, --target fastly',
    stored: false,
    publish: async (channel, data) => {
      const run = await runPublishCli([channel, data, '--target', 'fastly'], {
        env: { FASTLY_SERVICE_ID: 'SU1Z0isxPaozGVKXdv0eY', FASTLY_API_TOKEN: 'fastly-test-token-123', FASTLY_API_URL: relay.url },
      });
      expect(run.code, run.stderr).toBe(0);
    },
  },
  {
    name: "js-grip's Publisher",
    stored: false,
    publish: async (channel, data) => {
      const publisher = new Publisher({ control_uri: stack.urls.pushpinPublish });
      const json = JSON.stringify({ channel, data, ts: Date.now() });
      await publisher.publishHttpStream(`sse:${channel}`, `data: ${json}\n\n`);
      await publisher.publishHttpStream(`stream:${channel}`, `${json}\n`);
      await publisher.publishHttpResponse(`poll:${channel}`, `{"messages":[${json}]}`);
      await publisher.publishFormats(`ws:${channel}`, new WebSocketMessageFormat(`{"type":"message",${json.slice(1)}`));
    },
  },
  {
    name: 'the curl of docs/publishing.md',
    stored: false,
    publish: async (channel, data) => {
      const file = join(mkdtempSync(join(tmpdir(), 'curl-')), 'body.json');
      writeFileSync(file, readmeCurlBody(channel).replaceAll('hello', data));
      const { stdout } = await execFileAsync('curl', ['-sS', '-f', '-H', 'Content-Type: application/json', '--data-binary', `@${file}`, `${stack.urls.pushpinPublish}/publish/`]);
      expect(stdout).toMatch(/Published/);
    },
  },
];

async function expectOnce(subscribers: EveryTransport, data: string, stored: boolean): Promise<void> {
  const matches = (value: unknown) => (value as { data?: unknown } | undefined)?.data === data;
  const deadline = Date.now() + 10_000;
  const counts = () => ({
    sse: subscribers.sse.events.filter((e) => matches(e.data)).length,
    ndjson: subscribers.ndjson.lines.filter(matches).length,
    poll: subscribers.poll.messages.filter(matches).length,
    ws: subscribers.ws.frames.filter((f) => f.type === 'message' && f.data === data).length,
  });
  while (Object.values(counts()).some((n) => n < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  // A little longer, so a second copy would have arrived too.
  await new Promise((r) => setTimeout(r, 300));
  expect(counts()).toEqual({ sse: 1, ndjson: 1, poll: 1, ws: 1 });
  const line = subscribers.ndjson.lines.find(matches) as Record<string, unknown>;
  const frame = subscribers.ws.frames.find((f) => f.type === 'message' && f.data === data)!;
  if (stored) {
    expect(line.id).toMatch(/^\d+$/);
    expect(frame.id).toBe(line.id);
    expect(subscribers.sse.events.find((e) => matches(e.data))!.id).toBe(line.id);
  } else {
    expect(line).not.toHaveProperty('id');
    expect(frame).not.toHaveProperty('id');
  }
}

describe('every publish path reaches every transport through the edge, once', () => {
  PATHS.forEach((path, index) => {
    it(path.name, async () => {
      const channel = `path-${index}`;
      const subscribers = await subscribeEvery(stack.urls.edge!, channel, stack.logFiles.pushpin);
      try {
        const data = `message-${index}-${Date.now()}`;
        await path.publish(channel, data);
        await expectOnce(subscribers, data, path.stored);
      } finally {
        subscribers.close();
      }
    });
  });
});

describe('a large batch', () => {
  // Under Fanout's settings (8 KiB client buffers) Pushpin drops the WebSocket messages that find a
  // client's buffer full, silently: the client library sees the gap in the next frame's `prev` and
  // subscribes again from its position (a plain WebSocket got 619-711 of these 1,000). Pushpin 1.36
  // also crashed retrying the long-poll whose hold fell behind the burst (the generated config adds a
  // catch-all route).
  it('reaches every transport whole with the client: 1000 messages of 1 KB in one publish, each once, in order', async () => {
    const channel = 'big-batch';
    const transports = ['websocket', 'sse', 'stream', 'poll'] as const;
    const clients = transports.map((transport) =>
      createClient({ url: stack.urls.edge!, transport, WebSocket, fetch: nodeHttpFetch() }),
    );
    try {
      const records = clients.map((client) => recordSubscription(client.subscribe(channel)));
      await Promise.all(records.map((r) => r.sub.ready));
      const response = await stack.publish({
        items: Array.from({ length: 1000 }, (_, n) => ({ channel, data: { n, pad: 'x'.repeat(1000) } })),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      const ids = ((await response.json()) as { messages: Array<{ id: string }> }).messages.map((m) => m.id);
      for (const [i, record] of records.entries()) {
        await record.waitForIds(1000, 30_000);
        await new Promise((r) => setTimeout(r, 200));
        expect(record.ids(), transports[i]).toEqual(ids);
      }
      const recovered = records.map((r, i) => `${transports[i]} ${r.recoveries.map((x) => x.reason).join(',') || 'none'}`);
      console.log(`big batch through the edge (Pushpin profile ${stack.pushpinProfile}): every transport 1000/1000; recoveries: ${recovered.join('; ')}`);
      expect(readFileSync(stack.logFiles.pushpin, 'utf8')).not.toMatch(/Exited unexpectedly/);
    } finally {
      for (const client of clients) client.close();
    }
  }, 90_000);
});
