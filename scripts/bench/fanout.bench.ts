// `npm run bench -- fanout [options]`: fan-out at scale, our stack (Pushpin holding the connections,
// the origin publishing) side by side with a Socket.IO 4 server, at the same subscribers and rate in
// the same run. Writes latest.json, latest.md and latest.svg to the results folder. See
// scripts/bench/fanout/ for the parts and `--help` for the options; prints numbers, asserts nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fanoutChartSvg } from './fanout/fanoutChart.ts';
import { runCase, type CaseResult, type CaseSpec } from './fanout/fanoutCase.ts';
import { FANOUT_HELP, parseFanoutOptions, type FanoutOptions } from './fanout/fanoutOptions.ts';
import { clientRecoveryText, documentProfiles, markdownReport, mergeDocuments, ratioToSocketIo, systemLabel, type FanoutDocument } from './fanout/fanoutReport.ts';
import { benchMachine, uptimeLine } from './benchMachine.ts';
import { argumentsWithProfile, benchPushpinProfile } from './benchEnv.ts';
import { runWithOptions } from './benchOptions.ts';
import { ensureEdgeBuilt } from '../compute-host/edgeBuild.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';

export interface FanoutRunOutput {
  document: FanoutDocument;
  files: { json: string; markdown: string; svg: string };
}

function printRow(row: CaseResult, all: CaseResult[], log: (line: string) => void): void {
  const ratio = ratioToSocketIo(all, row);
  log(
    `  ${systemLabel(row)}, ${row.subscribers} subscribers: ${row.deliveriesPerSecond} deliveries/s` +
      `${ratio !== undefined ? ` (x${ratio.toFixed(2)} Socket.IO)` : ''}, p50 ${row.latencyMs.p50} ms, p99 ${row.latencyMs.p99} ms, max ${row.latencyMs.max} ms; ` +
      `received ${row.received}/${row.expected}, lost ${row.lost}, duplicated ${row.duplicates}, reconnects ${row.reconnects}` +
      `${row.system === 'pushpin' ? `; clients ${clientRecoveryText(row)}` : ''}`,
  );
  if (row.publishFailures > 0) {
    log(`  publishes failed: ${row.publishFailures} of ${row.published + row.publishFailures}: ${JSON.stringify(row.publishFailureReasons ?? {})}`);
  }
  log(`  CPU s in window: ${row.processes.map((p) => `${p.name} ${p.cpuSeconds}`).join(', ')}`);
  log(`  peak RSS MB: ${row.processes.map((p) => `${p.name} ${p.peakRssMb}`).join(', ')}`);
  if (row.originDuringWindow) {
    log(`  origin during the window: ${row.originDuringWindow.holdsOpened} holds opened, ${row.originDuringWindow.websocketEvents} WebSocket-over-HTTP events`);
  }
}

export async function runFanout(options: FanoutOptions, log: (line: string) => void = console.log): Promise<FanoutRunOutput> {
  if (options.via === 'edge') ensureEdgeBuilt(log);
  const specs: Array<Omit<CaseSpec, 'log'>> = [];
  for (const subscribers of options.subscribers) {
    for (const transport of options.transports) {
      specs.push({ system: 'pushpin', transport, subscribers, rate: options.rate, seconds: options.seconds, via: options.via, drainSeconds: options.drainSeconds, loadProcesses: options.loadProcesses });
    }
    if (options.socketIo) {
      specs.push({ system: 'socketio', transport: 'socketio', subscribers, rate: options.rate, seconds: options.seconds, via: 'pushpin', drainSeconds: options.drainSeconds, loadProcesses: options.loadProcesses });
    }
  }
  const results: CaseResult[] = [];
  for (const [i, spec] of specs.entries()) {
    log(`[${i + 1}/${specs.length}] ${systemLabel({ ...spec, via: spec.system === 'socketio' ? 'direct' : spec.via })}, ${spec.subscribers} subscribers, ${spec.rate} msg/s for ${spec.seconds} s; ${uptimeLine()}`);
    const row = await runCase({ ...spec, log });
    results.push(row);
    printRow(row, results, log);
  }
  const { help: _help, outDir: _out, ...recorded } = options;
  const args = argumentsWithProfile(process.argv.slice(2).filter((a) => a !== 'fanout'));
  const dir = resolve(PROJECT_ROOT, options.outDir);
  const files = { json: join(dir, 'latest.json'), markdown: join(dir, 'latest.md'), svg: join(dir, 'latest.svg') };
  const thisRun: FanoutDocument = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench -- fanout ${args.join(' ')}`,
    machine: benchMachine(),
    options: recorded,
    pushpinProfile: benchPushpinProfile(),
    results,
  };
  const document = options.merge && existsSync(files.json) ? mergeDocuments(JSON.parse(readFileSync(files.json, 'utf8')) as FanoutDocument, thisRun) : thisRun;
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.json, `${JSON.stringify(document, null, 2)}\n`);
  writeFileSync(files.markdown, markdownReport(document));
  writeFileSync(
    files.svg,
    fanoutChartSvg(
      document.results,
      `Fan-out: ${options.rate} msg/s to N subscribers, Pushpin ${document.machine.pushpin} (${documentProfiles(document.results).join(', ')}) vs Socket.IO 4, ${document.machine.cpus} cores`,
    ),
  );
  log(`results: ${files.json}, ${files.markdown}, ${files.svg}`);
  return { document, files };
}

/** `npm run bench -- fanout --option...`: run.ts passes the options on. */
export const acceptsOptions = true;

export async function run(args: string[] = []): Promise<void> {
  await runWithOptions('fanout', args, parseFanoutOptions, FANOUT_HELP, (options) => runFanout(options));
}
