// `npm run soak`: a bounded soak of the local stack. A fleet of fanout-forward clients (client/, one per
// simulated user, scripts/fleet) of every transport, spread over some channels, held through Pushpin
// (or the edge); messages are published through the origin to every channel at a steady pace; clients
// are cut at random and come back from their position; the origin's, Pushpin's (and the edge's) memory
// is sampled. At the end: delivered / lost / duplicated per transport, memory growth; exit 1 on any
// loss or any message handed on twice, 2 on bad options. Stops by itself (and stops what it started,
// also on Ctrl-C).
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../stack/localStack.ts';
import { freeStackPorts } from '../shared/ports.ts';
import { stopEveryManagedProcess } from '../shared/managedProcess.ts';
import { TRANSPORT_NAMES } from '../../protocol/index.ts';
import { describeMisses, formatTally, historyIds, tallyDeliveries, tallyFailed, waitForDeliveries, type ExpectedIds } from '../fleet/deliveryTally.ts';
import { createFleet, type FleetMember } from '../fleet/fleet.ts';
import { megabytes, rssBytes, treeRssBytes } from './processMemory.ts';
import { parseSoakOptions, SOAK_HELP, SoakOptionsError, type SoakOptions } from './soakOptions.ts';

const TOKEN = 'soak-publish-token';

function readOptions(): SoakOptions {
  try {
    const options = parseSoakOptions(process.argv.slice(2), process.env);
    if (!options) {
      console.log(SOAK_HELP);
      process.exit(0);
    }
    return options;
  } catch (error) {
    if (error instanceof SoakOptionsError) {
      console.error(`soak: ${error.message}\n\n${SOAK_HELP}`);
      process.exit(2);
    }
    throw error;
  }
}

/** The soft open-files limit of this shell's processes (the clients all live in this one). */
function openFilesLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

/** Whether a client left a connection because its messages stopped or skipped (not a cut, a fallback, a token). */
function recoveredFromStranding(member: FleetMember): boolean {
  const r = member.stats.recoveries;
  return (r.gap ?? 0) + (r['pong-behind'] ?? 0) + (r['history-behind'] ?? 0) + (r.silent ?? 0) > 0;
}

interface Sample {
  atS: number;
  origin: number;
  pushpin: number;
  edge: number;
  soak: number;
}

const options = readOptions();
const limit = openFilesLimit();
if (limit < options.connections * 2 + 200) {
  console.error(
    `soak: the open-files limit is ${limit}, too low for ${options.connections} connections (Pushpin holds one per client ` +
      `and the soak one per client): run \`ulimit -n 65536\` first (or ask for fewer --connections)`,
  );
  process.exit(2);
}

let stopping = false;
const stopOnSignal = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.error(`soak: ${signal}, stopping`);
  void stopEveryManagedProcess().then(() => process.exit(130));
};
process.on('SIGINT', () => stopOnSignal('SIGINT'));
process.on('SIGTERM', () => stopOnSignal('SIGTERM'));

const load = (): string => (execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' '));
console.log(
  `soak: ${options.connections} connections (${TRANSPORT_NAMES.map((t) => `${t} ${options.clientsPerTransport[t]}`).join(', ')}) via ${options.via}, ${options.channels} channels, one message per channel every ` +
    `${options.publishIntervalMs} ms for ${options.minutes} min, each client cut every ~${options.reconnectEverySeconds} s, Pushpin profile ${options.pushpinProfile}; load average ${load()}`,
);

const edge = options.via === 'edge';
const stack: LocalStack = await startLocalStack({
  ports: await freeStackPorts({ edge }),
  ...(edge ? { edge: true } : {}),
  pushpin: true, // whatever fastly.toml says: the soak measures the proxy
  pushpinProfile: options.pushpinProfile,
  originEnv: { PUBLISH_TOKEN: TOKEN, LOG_LEVEL: 'warn', HISTORY_MAX_MESSAGES: '1000000', LONG_POLL_TIMEOUT_SECONDS: '30' },
  logDir: mkdtempSync(join(tmpdir(), 'soak-logs-')),
  echo: false,
  log: () => {},
});
const baseUrl = edge ? stack.urls.edge! : stack.urls.pushpinProxy;
const headers: Record<string, string> = edge ? {} : { 'pushpin-route': 'origin' };
const channels = Array.from({ length: options.channels }, (_, i) => `soak-${i}`);
const fleet = createFleet({ url: baseUrl, headers });
const clients = fleet.members;
const acked = new Map(channels.map((c) => [c, new Set<number>()]));
const samples: Sample[] = [];
const started = Date.now();
const seconds = (): number => Math.round((Date.now() - started) / 1000);
let publishes = 0;
let publishFailures = 0;

const sample = (): Sample => {
  const s: Sample = {
    atS: seconds(),
    origin: rssBytes(stack.pids.origin),
    pushpin: stack.pids.pushpin ? treeRssBytes(stack.pids.pushpin) : 0,
    edge: stack.pids.edge ? treeRssBytes(stack.pids.edge) : 0,
    soak: process.memoryUsage.rss(),
  };
  samples.push(s);
  const live = clients.filter((c) => c.live).length;
  const liveBy = TRANSPORT_NAMES.map((t) => `${t} ${clients.filter((c) => c.transport === t && c.live).length}`).join(', ');
  const delivered = clients.reduce((sum, c) => sum + c.ids.size, 0);
  console.log(
    `t=${s.atS}s rss: origin ${megabytes(s.origin)}, pushpin ${megabytes(s.pushpin)}${edge ? `, edge host ${megabytes(s.edge)}` : ''}, ` +
      `soak clients ${megabytes(s.soak)} | connected ${live}/${clients.length} (${liveBy}) | published ${publishes} (failed ${publishFailures}) | ` +
      `delivered ${delivered} | load ${load()}`,
  );
  return s;
};

async function publishRound(): Promise<void> {
  try {
    const response = await fetch(`${stack.urls.origin}/api/publish`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: channels.map((channel) => ({ channel, data: { at: Date.now() } })) }),
    });
    const body = (await response.json()) as { messages?: Array<{ id: string; channel: string }>; stored?: Array<{ id: string; channel: string }> };
    for (const m of body.messages ?? body.stored ?? []) acked.get(m.channel)!.add(Number(m.id));
    if (response.ok) publishes++;
    else publishFailures++;
  } catch {
    publishFailures++;
  }
}

let exitCode = 0;
try {
  // Open the clients in steps (a burst of new connections makes Pushpin answer 502 for a moment).
  const most = Math.max(...TRANSPORT_NAMES.map((t) => options.clientsPerTransport[t]));
  // At most 40 new clients a second per transport: a faster ramp made Pushpin answer new WebSockets 502 here.
  for (let i = 0; i < most; i += 10) {
    for (const transport of TRANSPORT_NAMES) {
      for (let j = i; j < Math.min(options.clientsPerTransport[transport], i + 10); j++) {
        fleet.add({ transport, channel: channels[j % channels.length]!, since: '0' });
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  for (let waited = 0; clients.some((c) => !c.live) && waited < 120; waited++) await new Promise((r) => setTimeout(r, 1000));
  console.log(`soak: ${clients.filter((c) => c.live).length}/${clients.length} clients connected after ${seconds()} s`);
  const first = sample();

  const sampler = setInterval(sample, options.sampleSeconds * 1000);
  // Cuts: on average every client once per reconnectEverySeconds.
  const cutter = setInterval(() => {
    const cuts = Math.max(1, Math.round(clients.length / options.reconnectEverySeconds));
    for (let n = 0; n < cuts; n++) clients[Math.floor(Math.random() * clients.length)]!.cut();
  }, 1000);
  const endAt = Date.now() + options.minutes * 60_000;
  while (Date.now() < endAt && !stopping) {
    const round = Date.now();
    await publishRound();
    await new Promise((r) => setTimeout(r, Math.max(0, options.publishIntervalMs - (Date.now() - round))));
  }
  clearInterval(cutter);
  // A last message everywhere, once nobody is being cut: every stream hold has a gap closed by it.
  await new Promise((r) => setTimeout(r, 2000));
  await publishRound();
  const expected: ExpectedIds = new Map();
  for (const channel of channels) expected.set(channel, new Set([...acked.get(channel)!, ...(await historyIds(stack.urls.origin, channel))]));
  await waitForDeliveries(clients, expected, { timeoutMs: 120_000, settleMs: 2000 });
  clearInterval(sampler);
  const last = sample();

  const tallies = tallyDeliveries(clients, expected);
  console.log(formatTally(`soak ${options.minutes} min, ${clients.length} connections via ${options.via}`, tallies, 'soak'));
  const growth = (name: keyof Omit<Sample, 'atS'>): string =>
    `${name} ${megabytes(first[name])} -> ${megabytes(last[name])} (${last[name] >= first[name] ? '+' : ''}${megabytes(last[name] - first[name])}), peak ${megabytes(Math.max(...samples.map((s) => s[name])))}`;
  console.log(`[soak] memory from the first sample (t=${first.atS}s) to the last (t=${last.atS}s): ${growth('origin')}; ${growth('pushpin')}${edge ? `; ${growth('edge')}` : ''}; ${growth('soak')}`);
  console.log(`[soak] publishes ${publishes} (failed ${publishFailures}), load average at the end ${load()}`);
  // Connections the clients left because the proxy dropped or stopped their messages (the client's gap
  // rule, pong and history checks, idle timeout): how often, and what happened to a few.
  const stranded = clients.filter(recoveredFromStranding);
  if (stranded.length > 0) {
    console.log(`[soak] ${stranded.length} client(s) left a connection whose messages had stopped or skipped; the first few:`);
    for (const c of stranded.slice(0, 3)) console.log(`  ${c.transport} on ${c.channel}: ${c.history.slice(-6).join(' | ')}`);
  }
  const bad = tallies.filter(tallyFailed);
  if (bad.length > 0) {
    console.error(`soak: FAILED: ${bad.map((t) => `${t.transport} lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder}, unexpected ${t.unexpected}`).join('; ')}`);
    // For whoever looks into it: which ids, missed by how many, and what happened to a few clients.
    console.error(describeMisses(clients, expected, 4));
    exitCode = 1;
  } else {
    console.log('soak: nothing lost, nothing twice');
  }
} finally {
  fleet.close();
  await stack.stop();
}
process.exit(exitCode);
