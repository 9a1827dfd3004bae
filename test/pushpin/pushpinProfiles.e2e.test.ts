// A stack started under a Pushpin profile runs with that profile's settings: in the config Pushpin was
// given, in what condure was started with (Pushpin logs none of its settings, but the runner passes the
// client buffer to condure as --buffer-size), and in what Pushpin does: under `fanout` a second item with
// an id already published on the channel in the last 60 s is dropped (id_cache_ttl), under `gentle` it
// is delivered again.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPushpinSetting } from '../../scripts/pushpin/pushpinConfigAdapter.ts';
import { PUSHPIN_PROFILES, type PushpinProfileName } from '../../scripts/pushpin/pushpinProfiles.ts';
import { descendantsOf } from '../../scripts/shared/processTree.mjs';
import { countSubscribes } from '../harness/everyTransport.ts';
import { recordNdjson } from '../harness/ndjsonClient.ts';
import { startTestStack, type TestStack } from '../harness/testStack.ts';

function condureCommand(stack: TestStack): string {
  for (const pid of descendantsOf(stack.pids.pushpin)) {
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (/(^|\/)(condure|connmgr) /.test(command)) return command;
    } catch {
      // gone
    }
  }
  throw new Error(`no condure under Pushpin ${stack.pids.pushpin}`);
}

/** Publishes `id` twice to a held NDJSON stream, then a marker; returns how often `id` arrived. */
async function deliveriesOfRepeatedId(stack: TestStack, channel: string): Promise<number> {
  const stream = recordNdjson(`${stack.urls.pushpinProxy}/stream/${channel}`, { 'pushpin-route': 'origin' });
  try {
    expect((await stream.opened).status).toBe(200);
    // Held once the handler logged the subscription of the live channel.
    const deadline = Date.now() + 10_000;
    while (countSubscribes(stack.logFiles.pushpin, `stream:${channel}`) === 0) {
      if (Date.now() > deadline) throw new Error('the stream was not held');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const item = (id: string, n: number) => ({ channel: `stream:${channel}`, id, formats: { 'http-stream': { content: `${JSON.stringify({ id, n })}\n` } } });
    for (const items of [[item('same', 1)], [item('same', 2)], [item('marker', 3)]]) {
      const response = await fetch(`${stack.urls.pushpinPublish}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      expect(response.status, await response.text()).toBe(200);
    }
    // Items of one channel are delivered in order: once the marker is there, so is everything before it.
    const marker = (): boolean => stream.lines.some((line) => (line as { id: string }).id === 'marker');
    const until = Date.now() + 10_000;
    while (!marker() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(marker(), JSON.stringify(stream.lines)).toBe(true);
    return stream.lines.filter((line) => (line as { id: string }).id === 'same').length;
  } finally {
    stream.close();
  }
}

describe.each([
  ['fanout', 1],
  ['gentle', 2],
] as Array<[PushpinProfileName, number]>)('a stack started with the %s Pushpin profile', (profile, deliveries) => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ pushpinProfile: profile });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("runs Pushpin with the profile's settings", () => {
    expect(stack.pushpinProfile).toBe(profile);
    const config = readFileSync(stack.pushpinConfigFile!, 'utf8');
    const { settings } = PUSHPIN_PROFILES[profile];
    expect(readPushpinSetting(config, 'runner', 'client_buffer_size')).toBe(String(settings.clientBufferSize));
    expect(readPushpinSetting(config, 'handler', 'id_cache_ttl')).toBe(String(settings.idCacheTtl));
    expect(readPushpinSetting(config, 'handler', 'message_rate')).toBe(String(settings.messageRate));
    expect(readPushpinSetting(config, 'handler', 'message_hwm')).toBe(String(settings.messageHwm));
    expect(readPushpinSetting(config, 'handler', 'message_wait')).toBe(String(settings.messageWait));
    expect(readPushpinSetting(config, 'handler', 'connection_subscription_max')).toBe(String(settings.connectionSubscriptionMax));
    expect(readPushpinSetting(config, 'handler', 'subscription_linger')).toBe(String(settings.subscriptionLinger));
    expect(condureCommand(stack)).toMatch(new RegExp(`--buffer-size=${settings.clientBufferSize}\\b`));
  });

  it(`delivers an item whose id the channel had in the last 60 s ${deliveries === 1 ? 'once (id_cache_ttl=60)' : 'again (no id cache)'}`, async () => {
    expect(await deliveriesOfRepeatedId(stack, `profile-${profile}-${Date.now()}`)).toBe(deliveries);
  });
});

describe('a stack started with the fanout-node Pushpin profile', () => {
  it("runs Pushpin with Fanout's node-wide shaping on top of fanout's settings", async () => {
    const stack = await startTestStack({ pushpinProfile: 'fanout-node' });
    try {
      const config = readFileSync(stack.pushpinConfigFile!, 'utf8');
      expect(readPushpinSetting(config, 'handler', 'message_rate')).toBe('2500');
      expect(readPushpinSetting(config, 'handler', 'message_hwm')).toBe('25000');
      expect(readPushpinSetting(config, 'handler', 'id_cache_ttl')).toBe('60');
      expect(condureCommand(stack)).toMatch(/--buffer-size=8192\b/);
    } finally {
      await stack.stop();
    }
  });
});
