import { describe, expect, it } from 'vitest';
import { echoFor, isProblemLine } from './echoPolicy.ts';

describe('isProblemLine', () => {
  it("hides Pushpin's INFO and DEBUG lines and shows its warnings and errors", () => {
    expect(isProblemLine('pushpin', '[INFO] 2026-12-07 14:12:55.392 [condure] [condure::server] listening on 127.0.0.1:23209')).toBe(false);
    expect(isProblemLine('pushpin', '[DEBUG] 2026-12-07 14:12:55.392 [handler] publish channel=a')).toBe(false);
    expect(isProblemLine('pushpin', '[WARN] 2026-12-07 14:12:55.392 [handler] publish queue at max, dropping')).toBe(true);
    expect(isProblemLine('pushpin', '[ERR] 2026-12-07 14:12:55.392 [proxy] failed to bind')).toBe(true);
    expect(isProblemLine('pushpin', "thread 'main' panicked at src/server.rs:516")).toBe(true);
  });

  it("hides the origin's info and debug logs and shows warnings, errors and anything that is not a log line", () => {
    expect(isProblemLine('origin', '{"level":30,"msg":"origin listening on http://127.0.0.1:3000"}')).toBe(false);
    expect(isProblemLine('origin', '{"level":20,"msg":"published"}')).toBe(false);
    expect(isProblemLine('origin', '{"level":40,"msg":"SUBSCRIBE_TOKEN_SECRET is not set"}')).toBe(true);
    expect(isProblemLine('origin', '{"level":50,"msg":"publish failed"}')).toBe(true);
    expect(isProblemLine('origin', 'TypeError: cannot read properties of undefined')).toBe(true);
    expect(isProblemLine('origin', '{"not":"a log line"}')).toBe(true);
    expect(isProblemLine('origin', '{broken')).toBe(true);
  });

  it("hides the Compute host's line per request and shows server errors, traps and the app's own logging", () => {
    expect(isProblemLine('edge', 'GET /assets/demo.css -> 200 (74.5 ms)')).toBe(false);
    expect(isProblemLine('edge', 'GET /poll/big-batch?since=1 -> 200 (3.1 ms)')).toBe(false);
    expect(isProblemLine('edge', 'cache: MISS origin GET 127.0.0.1:3000/')).toBe(false);
    expect(isProblemLine('edge', 'request 7: Fanout handoff to backend "origin"')).toBe(false);
    expect(isProblemLine('edge', 'edge: removed client-sent proxy headers: pushpin-route')).toBe(false);
    expect(isProblemLine('edge', 'GET /api/publish -> 503 (2.0 ms)')).toBe(true);
    expect(isProblemLine('edge', 'request 9: guest trapped: unreachable')).toBe(true);
    expect(isProblemLine('edge', 'handoff to Pushpin (127.0.0.1:7677) failed: socket hang up')).toBe(true);
    expect(isProblemLine('edge', 'my app: user 42 signed in')).toBe(true);
  });
});

describe('echoFor', () => {
  it('echoes every line, none, or the problems of that child', () => {
    expect(echoFor('all', 'pushpin')).toBe(true);
    expect(echoFor('none', 'origin')).toBe(false);
    const filter = echoFor('problems', 'pushpin');
    expect(typeof filter).toBe('function');
    expect((filter as (line: string) => boolean)('[INFO] x')).toBe(false);
    expect((filter as (line: string) => boolean)('[WARN] x')).toBe(true);
  });
});
