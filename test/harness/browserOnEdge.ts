// A test file's stack with the edge and its headless Chromium: both started before the file's tests,
// both stopped after them (the browser first), for tests of the pages and bundle the edge serves.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from './browser.ts';
import { startTestStack, type TestStack } from './testStack.ts';

export interface EdgeStackAndBrowser {
  /** The stack (with `urls.edge`); read it in tests and hooks, not while the file loads. */
  readonly stack: TestStack;
  readonly browser: Browser;
}

/** Registers the file's beforeAll and afterAll; `startTimeoutMs` overrides the beforeAll's hook timeout. */
export function useEdgeStackAndBrowser(options: { startTimeoutMs?: number } = {}): EdgeStackAndBrowser {
  let stack: TestStack | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    stack = await startTestStack({ edge: true });
    browser = await launchBrowser();
  }, options.startTimeoutMs);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  const started = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`the ${name} is not started yet (it starts in beforeAll)`);
    return value;
  };
  return {
    get stack() {
      return started(stack, 'stack');
    },
    get browser() {
      return started(browser, 'browser');
    },
  };
}
