// The layout's rules, checked over the import graph of every source file (test/layout/importGraph.ts):
// arrows point down (protocol <- client, origin <- scripts; scripts/shared at the bottom of scripts/),
// nothing outside test/ reaches into test/, and no files or folders import one another in a circle.
// A failure names every offending import, file by file.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { areaOf, cycles, importGraph, isSourcePath, type ImportEdge } from './importGraph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const graph = importGraph(ROOT);
const sources = new Set(graph.files);
/** What the rules look at: imports, and the project's own source files named by path (programs spawned). */
const dependencies = graph.edges.filter((edge) => edge.kind === 'import' || sources.has(edge.to));

const inside = (folder: string) => (file: string) => file.startsWith(`${folder}/`);
const isTestFile = (file: string) => /\.test\.ts$/.test(file);
const show = (edges: readonly ImportEdge[]) => edges.map((edge) => `${edge.from} -> ${edge.to}`);

/**
 * The floors of scripts/, bottom first: a folder imports its own files and folders on lower floors,
 * never one beside or above it. A new folder goes on the floor its imports put it on.
 */
const SCRIPTS_FLOORS: readonly (readonly string[])[] = [
  // processes, ports, fastly.toml, apt, Redis: what every tool uses
  ['scripts/shared'],
  // one product each: the Pushpin config and process, the local Compute host, the client bundle, the
  // publish CLI, the token command, `npm run serve`'s options
  ['scripts/client', 'scripts/compute-host', 'scripts/publish', 'scripts/pushpin', 'scripts/serve', 'scripts/token'],
  // the local stack (starts Pushpin, the origin and the Compute host); the simulated users (clients)
  ['scripts/fleet', 'scripts/stack'],
  // what runs stacks and fleets
  ['scripts/bench', 'scripts/soak'],
  // the commands: start.ts, serve.ts, publish.ts, token.ts, fanout-publish.mjs
  ['scripts/(root)'],
];
const floorOf = (area: string): number => SCRIPTS_FLOORS.findIndex((floor) => floor.includes(area));

interface Rule {
  name: string;
  /** Whether the rule speaks about imports written in this file. */
  appliesTo: (from: string) => boolean;
  allows: (to: string, from: string) => boolean;
}

const RULES: readonly Rule[] = [
  {
    name: 'protocol/ imports nothing of the project outside protocol/',
    appliesTo: inside('protocol'),
    allows: inside('protocol'),
  },
  {
    name: 'client/ imports only client/ and protocol/',
    appliesTo: inside('client'),
    allows: (to) => inside('client')(to) || inside('protocol')(to),
  },
  {
    name: 'edge/ imports only edge/',
    appliesTo: inside('edge'),
    allows: inside('edge'),
  },
  {
    // Its tests beside the source may start a real Redis (scripts/shared/redisServer.ts).
    name: 'origin/ imports only origin/ and protocol/ (never scripts/, client/ or test/); its tests also scripts/shared/',
    appliesTo: inside('origin'),
    allows: (to, from) => inside('origin')(to) || inside('protocol')(to) || (isTestFile(from) && inside('scripts/shared')(to)),
  },
  {
    name: 'nothing outside test/ imports test/',
    appliesTo: (from) => !inside('test')(from),
    allows: (to) => !inside('test')(to),
  },
  {
    name: 'scripts/shared/, the ground floor, imports nothing of the project but itself',
    appliesTo: inside('scripts/shared'),
    allows: inside('scripts/shared'),
  },
  {
    name: 'a scripts/ folder imports only its own files and folders on lower floors (SCRIPTS_FLOORS)',
    appliesTo: inside('scripts'),
    allows: (to, from) => {
      if (!inside('scripts')(to) || areaOf(to) === areaOf(from)) return true;
      const [own, theirs] = [floorOf(areaOf(from)), floorOf(areaOf(to))];
      return own >= 0 && theirs >= 0 && theirs < own;
    },
  },
];

/**
 * Folder imports in origin/ allowed to close a folder cycle: none. (The last ones went when the GRIP
 * channel names moved to channels/ and HistoryConfig to history/.) An entry added here must name its way out.
 */
const ORIGIN_KNOWN_CYCLE_IMPORTS: readonly string[] = [];

/** Folder-to-folder imports of the product code. A test is nobody's dependency, so its imports cannot
 * make one folder depend on another (client/core's tests use client/testing, which drives client/core). */
function folderImports(): { from: string; to: string }[] {
  const seen = new Map<string, { from: string; to: string }>();
  for (const edge of dependencies) {
    if (isTestFile(edge.from)) continue;
    const [from, to] = [areaOf(edge.from), areaOf(edge.to)];
    if (from !== to) seen.set(`${from} -> ${to}`, { from, to });
  }
  return [...seen.values()];
}

describe('the layout: arrows point down', () => {
  it('reads the whole project', () => {
    // A guard for the guard: a walk that found nothing would pass every rule.
    for (const area of ['protocol', 'client', 'edge', 'origin', 'scripts/shared', 'scripts/stack', 'test/harness']) {
      expect(graph.files.some(inside(area)), area).toBe(true);
    }
    expect(dependencies.length).toBeGreaterThan(1000);
  });

  it('every relative import and every source file named by path exists', () => {
    // A path may also name a folder or a built file (client/dist/client.min.js), which this does not judge.
    const missing = graph.edges.filter((edge) => (edge.kind === 'import' || isSourcePath(edge.to)) && !existsSync(join(ROOT, edge.to)));
    expect(show(missing)).toEqual([]);
  });

  for (const rule of RULES) {
    it(rule.name, () => {
      const broken = dependencies.filter((edge) => rule.appliesTo(edge.from) && !rule.allows(edge.to, edge.from));
      expect(show(broken)).toEqual([]);
    });
  }

  it('every scripts/ folder stands on a floor', () => {
    const areas = new Set(graph.files.filter(inside('scripts')).map(areaOf));
    expect([...areas].filter((area) => floorOf(area) < 0)).toEqual([]);
  });

  it('no files import one another in a circle, type-only imports included', () => {
    expect(cycles(dependencies)).toEqual([]);
  });

  it("no folders import one another in a circle, but for origin/'s known ones", () => {
    const known = new Set(ORIGIN_KNOWN_CYCLE_IMPORTS);
    expect(cycles(folderImports().filter((edge) => !known.has(`${edge.from} -> ${edge.to}`)))).toEqual([]);
  });

  it("origin/'s known cycle imports are all still there (remove the ones that are gone)", () => {
    const present = new Set(folderImports().map((edge) => `${edge.from} -> ${edge.to}`));
    expect(ORIGIN_KNOWN_CYCLE_IMPORTS.filter((edge) => !present.has(edge))).toEqual([]);
  });
});
