// `npm run bench -- chat [options]`: a chat at scale. C channels with S subscribers each (a mix of
// transports, fanout-forward clients), every channel publishing R msg/s through the origin's POST
// /api/publish, one message per request from P publisher connections; then the same C, S and R against
// a Socket.IO 4 server with rooms (publishers emit, the server relays) in the same run. Load
// generators (subscribers and publishers) run in child processes. Writes latest.json, latest.md and
// latest.svg to the results folder; see scripts/bench/chat/ for the parts and `--help` for the
// options. Prints numbers, asserts nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { benchMachine, uptimeLine } from './benchMachine.ts';
import { argumentsWithProfile, benchPushpinProfile } from './benchEnv.ts';
import { runWithOptions } from './benchOptions.ts';
import { runChatCase, type ChatCaseResult, type ChatCaseSpec } from './chat/chatCase.ts';
import { chatChartSvg } from './chat/chatChart.ts';
import { CHAT_HELP, parseChatOptions, type ChatOptions } from './chat/chatOptions.ts';
import { earlyLate, markdownReport, mergeDocuments, ratiosToSocketIo, systemLabel, type ChatDocument } from './chat/chatReport.ts';

export interface ChatRunOutput {
  document: ChatDocument;
  files: { json: string; markdown: string; svg: string };
}

function printRow(row: ChatCaseResult, all: ChatCaseResult[], log: (line: string) => void): void {
  const ratios = ratiosToSocketIo(all, row);
  const { early, late } = earlyLate(row);
  log(
    `  ${systemLabel(row)}: ${row.publish.acceptedPerSecond} publishes/s accepted (${row.publish.failed} failed), ${row.deliveriesPerSecond} deliveries/s, ` +
      `p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, max ${row.latencyMs.max} ms (p99 of the first 5 s ${early}, last 5 s ${late}); ` +
      `received ${row.received}/${row.expected}, lost ${row.lost}, duplicated ${row.duplicated}, duplicates dropped ${row.duplicatesDropped}` +
      (ratios ? `; x Socket.IO: deliveries/s ${ratios.deliveriesPerSecond.toFixed(2)}, p99 ${ratios.p99.toFixed(1)}, server CPU ${ratios.serverCpu.toFixed(1)}` : ''),
  );
  log(`  CPU s: ${row.processes.map((p) => `${p.name} ${p.cpuSeconds}`).join(', ')}; load average at publish ${row.loadAverageAtPublish.join(' ')}`);
  for (const t of row.byTransport) {
    const recoveries = Object.entries(t.recoveries).map(([why, k]) => `${why} ${k}`).join(', ');
    if (t.lost > 0 || recoveries) log(`    ${t.transport}: ${t.delivered}/${t.expected}, lost ${t.lost}${recoveries ? `, recoveries: ${recoveries}` : ''}`);
  }
  if (row.nextLinks) {
    const l = row.nextLinks;
    log(`  next-link fetches (Pushpin log): ${l.sessions} sessions over ${l.links} links, seconds ${l.firstSecond} to ${l.lastSecond} relative to the first publish; queue drops ${l.queueDrops}, prev-id conflicts ${l.inconsistencies}`);
  }
  for (const miss of row.misses ?? []) log(`  missed: ${miss.split('\n').slice(0, 6).join('\n    ')}`);
}

export async function runChat(options: ChatOptions, log: (line: string) => void = console.log): Promise<ChatRunOutput> {
  const specs: Array<Omit<ChatCaseSpec, 'log'>> = [];
  for (const channels of options.channels) {
    const common = {
      channels,
      subscribers: options.subscribers,
      rate: options.rate,
      publishers: options.publishers,
      seconds: options.seconds,
      connectedBefore: options.connectedBefore,
      mix: options.mix,
      connectRate: options.connectRate,
      silenceCheckSeconds: options.silenceCheckSeconds,
      drainSeconds: options.drainSeconds,
      waitAllSeconds: options.waitAllSeconds,
      pushpinDebug: options.pushpinDebug,
      presence: options.presence,
      loadProcesses: options.loadProcesses,
      publisherProcesses: options.publisherProcesses,
    };
    specs.push({ system: 'stack', ...common });
    if (options.socketIo) specs.push({ system: 'socketio', ...common });
  }
  const results: ChatCaseResult[] = [];
  for (const [i, spec] of specs.entries()) {
    log(
      `[${i + 1}/${specs.length}] ${systemLabel(spec)}: ${spec.channels} channels x ${spec.subscribers} subscribers, ${spec.rate} msg/s each for ${spec.seconds} s, ` +
        `connected ${spec.connectedBefore} s before; ${uptimeLine()}`,
    );
    const row = await runChatCase({ ...spec, log });
    results.push(row);
    printRow(row, results, log);
  }
  const { help: _help, outDir: _out, ...recorded } = options;
  const args = argumentsWithProfile(process.argv.slice(2).filter((a) => a !== 'chat'));
  const dir = resolve(PROJECT_ROOT, options.outDir);
  const files = { json: join(dir, 'latest.json'), markdown: join(dir, 'latest.md'), svg: join(dir, 'latest.svg') };
  const thisRun: ChatDocument = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench -- chat ${args.join(' ')}`,
    machine: benchMachine(),
    options: recorded,
    pushpinProfile: benchPushpinProfile(),
    results,
  };
  const document = options.merge && existsSync(files.json) ? mergeDocuments(JSON.parse(readFileSync(files.json, 'utf8')) as ChatDocument, thisRun) : thisRun;
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.json, `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync(files.markdown, markdownReport(document));
  writeFileSync(
    files.svg,
    chatChartSvg(document.results, `Chat: C channels x S subscribers, ${options.rate} msg/s per channel; Pushpin ${document.machine.pushpin} (${document.pushpinProfile}) + origin vs Socket.IO 4, ${document.machine.cpus} cores`),
  );
  log(`results: ${files.json}, ${files.markdown}, ${files.svg}`);
  return { document, files };
}

/** `npm run bench -- chat --option...`: run.ts passes the options on. */
export const acceptsOptions = true;

export async function run(args: string[] = []): Promise<void> {
  await runWithOptions('chat', args, parseChatOptions, CHAT_HELP, (options) => runChat(options));
}
