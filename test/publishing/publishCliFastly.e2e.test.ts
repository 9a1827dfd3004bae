// The publish CLI (a real child process) against a Fastly publish API stand-in on loopback: the exact
// request it sends, and every error path with its exit code, hint, and no token in the output.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeItemsForChannel, liveItemsForMessage } from '../../origin/publishing/gripItems.ts';
import { findFreePort } from '../../scripts/shared/ports.ts';
import { startFastlyApiStandIn, type FastlyApiStandIn } from '../harness/fastlyApiStandIn.ts';
import { runPublishCli, type CliRun } from '../harness/publishCli.ts';

const SERVICE_ID = 'SU1Z0isxPaozGVKXdv0eY';
const TOKEN = 'fastly-token-secret-9f8e7d6c';

let api: FastlyApiStandIn;
let fastlyEnv: Record<string, string>;

beforeAll(async () => {
  api = await startFastlyApiStandIn();
  fastlyEnv = { FASTLY_SERVICE_ID: SERVICE_ID, FASTLY_API_TOKEN: TOKEN, FASTLY_API_URL: api.url };
});
afterAll(async () => {
  await api?.close();
});
beforeEach(() => {
  api.requests.length = 0;
  api.script([]);
});

function fastly(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runPublishCli([...args, '--target', 'fastly'], { env: { ...fastlyEnv, ...env } });
}

function expectNoToken(run: CliRun): void {
  expect(run.stdout).not.toContain(TOKEN);
  expect(run.stderr).not.toContain(TOKEN);
}

describe('the request to the Fastly publish API', () => {
  it('is POST /service/<id>/publish/ with Fastly-Key and the items of every transport', async () => {
    const run = await fastly(['news', '{"text":"hello"}']);
    expect(run.code).toBe(0);
    expectNoToken(run);
    expect(run.stdout).toContain(
      `published to news: sse, stream, poll and ws, live only (not in the origin's history: a client that reconnects later will not get it) → ${api.url}/service/${SERVICE_ID}/publish/`,
    );
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(`/service/${SERVICE_ID}/publish/`);
    expect(request!.headers['fastly-key']).toBe(TOKEN);
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(request!.body) as { items: Array<{ formats: Record<string, { content?: string }> }> };
    // The same items the origin builds for this message (ts is the CLI's clock, read back).
    const ts = (JSON.parse(body.items[1]!.formats['http-stream']!.content!) as { ts: number }).ts;
    expect(body).toEqual({ items: liveItemsForMessage({ channel: 'news', data: { text: 'hello' }, ts }) });
    expect(body.items.map((item) => (item as unknown as { channel: string }).channel)).toEqual([
      'sse:news',
      'stream:news',
      'poll:news',
      'ws:news',
    ]);
  });

  it('carries no id anywhere (it is not in the history); --raw keeps JSON-looking text a string', async () => {
    const run = await fastly(['news', '42', '--raw', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ids: [], stored: false, sent: 1 });
    const { items } = JSON.parse(api.requests[0]!.body) as { items: Array<Record<string, unknown>> };
    expect(items.every((item) => !('id' in item) && !('prev-id' in item))).toBe(true);
    const ws = JSON.parse((items[3]!.formats as { 'ws-message': { content: string } })['ws-message'].content) as object;
    expect(ws).toEqual({ type: 'message', channel: 'news', data: '42', ts: expect.any(Number) });
  });

  it('refuses --id: a message published straight to the proxy has no id', async () => {
    const run = await fastly(['news', 'hello', '--id', '1796000000000001']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--id needs --target origin/);
    expect(api.requests).toHaveLength(0);
  });

  it('--close sends close actions for streams and WebSockets', async () => {
    const run = await fastly(['news', '--close']);
    expect(run.code).toBe(0);
    expect(JSON.parse(api.requests[0]!.body)).toEqual({ items: closeItemsForChannel('news') });
    expect(closeItemsForChannel('news').map((item) => item.channel)).toEqual(['sse:news', 'stream:news', 'ws:news']);
  });
});

describe('errors from the Fastly publish API', () => {
  it('401: exit 4, the token-scope hint, no retry, no token in the output (even when echoed back)', async () => {
    api.script([{ status: 401, body: `{"msg":"Provided credentials are missing or invalid: ${TOKEN}"}` }]);
    const run = await fastly(['news', 'hello']);
    expect(run.code).toBe(4);
    expectNoToken(run);
    expect(run.stderr).toMatch(/answered 401/);
    expect(run.stderr).toMatch(/hint: Fastly did not accept FASTLY_API_TOKEN.*purge_select/);
    expect(run.stderr).toContain('***');
    expect(api.requests).toHaveLength(1);
  });

  it('403: exit 4 with the scope hint, also in --json', async () => {
    api.script([{ status: 403, body: '{"msg":"insufficient permission"}' }]);
    const run = await fastly(['news', 'hello', '--json']);
    expect(run.code).toBe(4);
    expectNoToken(run);
    const result = JSON.parse(run.stdout) as { ok: boolean; exitCode: number; errors: Array<{ status: number; hint: string }> };
    expect(result).toMatchObject({ ok: false, exitCode: 4, sent: 0, failed: 1 });
    expect(result.errors[0]!.status).toBe(403);
    expect(result.errors[0]!.hint).toMatch(/may not publish.*purge_select/);
  });

  it('413: exit 4 with the 64 KiB hint', async () => {
    api.script([{ status: 413, body: 'Request Entity Too Large' }]);
    const run = await fastly(['news', 'hello']);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/answered 413/);
    expect(run.stderr).toMatch(/hint: .*64 KiB/);
  });

  it('500: retried --retries times, then exit 4', async () => {
    api.script([{ status: 500 }, { status: 500 }, { status: 503 }]);
    const run = await fastly(['news', 'hello', '--retries', '2']);
    expect(run.code).toBe(4);
    expect(api.requests).toHaveLength(3);
    expect(run.stderr).toMatch(/retrying \(attempt 2 of 3\)/);
    expect(run.stderr).toMatch(/answered 503 .*after 3 attempts/);
    expect(new Set(api.requests.map((r) => r.body)).size).toBe(1);
  });

  it('500 then 200: the retry succeeds, exit 0', async () => {
    api.script([{ status: 500 }]);
    const run = await fastly(['news', 'hello', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, sent: 1, retries: 1, requests: 1 });
    expect(api.requests).toHaveLength(2);
  });

  it('unreachable: exit 3 with a hint', async () => {
    const closedPort = await findFreePort();
    const run = await fastly(['news', 'hello', '--retries', '1'], { FASTLY_API_URL: `http://127.0.0.1:${closedPort}` });
    expect(run.code).toBe(3);
    expectNoToken(run);
    expect(run.stderr).toMatch(/cannot reach .*ECONNREFUSED \(after 2 attempts\)/);
    expect(run.stderr).toMatch(/hint: check the network and FASTLY_API_URL/);
  });

  it('no answer within --timeout: exit 3', async () => {
    api.script([{ status: 0, hang: true }]);
    const run = await fastly(['news', 'hello', '--timeout', '300', '--retries', '0']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/no answer from .* in time/);
    expect(run.stderr).toMatch(/raise --timeout/);
  });

  it('a message over 64 KiB once framed: exit 5, nothing sent', async () => {
    const run = await fastly(['news', 'x'.repeat(70_000)]);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/over the 65536-byte \(64 KiB\) publish limit/);
    expect(api.requests).toHaveLength(0);
  });
});

describe('bad arguments and environment exit 2 before anything is sent', () => {
  it.each([
    [['news', 'hello', '--bogus'], /unknown option --bogus/],
    [['news', 'hello', '--targt', 'local'], /did you mean --target/],
    [[], /missing <channel>/],
    [['news'], /missing <message>/],
    [['bad:channel', 'hello'], /invalid channel name "bad:channel"[\s\S]*hint: a channel is 1-128/],
    [['news', 'hello', '--target', 'elsewhere'], /--target must be local, fastly or origin/],
    [['news', 'hello', '--prev-id', '3'], /unknown option --prev-id/],
    [['news', 'hello', '--id', 'abc', '--target', 'origin'], /--id must be a decimal id/],
    [['news', '{oops', '--json-data'], /the message is not valid JSON/],
    [['news', 'a', 'b'], /too many arguments/],
    [['news', '--close', 'hello'], /--close takes only a channel/],
    [['news', 'hello', '--batch', '0'], /--batch must be a whole number from 1 to 1000/],
    [['news', 'hello', '--file', '/nonexistent/file'], /give either a message or --file/],
    [['news', '--file', '/nonexistent/file'], /cannot read --file \/nonexistent\/file: ENOENT/],
    [['news', '--file', '/tmp'], /cannot read --file \/tmp: is a directory/],
  ])('%j', { concurrent: true }, async (args, message) => {
    const run = await runPublishCli(args, { env: { FASTLY_API_URL: api.url } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/--help/);
    expect(api.requests).toHaveLength(0);
  });

  it('--target fastly without FASTLY_API_TOKEN', async () => {
    const run = await runPublishCli(['news', 'hello', '--target', 'fastly'], { env: { FASTLY_SERVICE_ID: SERVICE_ID } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--target fastly needs FASTLY_API_TOKEN/);
  });

  it('--json reports a usage error as JSON on stdout, without the token', async () => {
    const run = await runPublishCli(['bad:channel', 'x', '--json'], { env: fastlyEnv });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, exitCode: 2, errors: [{ message: expect.stringMatching(/invalid channel/) }] });
    expectNoToken(run);
  });

  it('--help lists every option with an example', async () => {
    const run = await runPublishCli(['--help']);
    expect(run.code).toBe(0);
    for (const option of ['--target', '--grip-url', '--id', '--close', '--raw', '--json-data', '--file', '--json', '--batch', '--concurrency', '--timeout', '--retries', '--help']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toMatch(/Examples.*:\n {2}npm run publish -- news/);
    expect(run.stdout).toMatch(/Exit codes:/);
  });
});
