// What Pushpin's handler log (at debug level: `--loglevel=pushpin-handler:3`) shows about next-link
// fetches over a run: each session update that fetches its hold's next link logs
// `httpsession: next: <uri>` (src/handler/httpsession.cpp, requestNextLink). An update action of the
// handler's limiter (10 a second, up to 100 sessions sharing one next-link URI) logs one line per
// session in the same moment; so sessions per second and distinct URIs per second (~ actions) are
// counted, by seconds relative to the first publish. Also counted: queued items dropped ("publish
// queue at max") and prev-id conflicts ("last ID inconsistency").
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface NextLinkSecond {
  /** Seconds after the first publish (negative: while subscribers connected). */
  second: number;
  /** Sessions that fetched their next link in this second. */
  sessions: number;
  /** Distinct next-link URIs fetched in this second (about the limiter's actions). */
  links: number;
}

export interface NextLinkSummary {
  perSecond: NextLinkSecond[];
  sessions: number;
  /** Distinct (second, URI) pairs: update actions, about. */
  links: number;
  /** Of the links, those of a position after the start (`/after/<id>` other than 0): recoveries, not first updates. */
  laterLinks: number;
  queueDrops: number;
  inconsistencies: number;
  /** Seconds (relative) of the first and last next-link fetch. */
  firstSecond: number | undefined;
  lastSecond: number | undefined;
}

const LINE = /^\[(\w+)\] (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3}) \[handler\] (.*)$/;

/** Wall-clock ms of a Pushpin log line's timestamp (local time, as Pushpin writes it). */
export function logLineTime(date: string, time: string): number {
  return new Date(`${date}T${time}`).getTime();
}

export class NextLinkCounter {
  private readonly bySecond = new Map<number, { sessions: number; uris: Set<string> }>();
  private queueDrops = 0;
  private inconsistencies = 0;
  private laterLinks = 0;

  /** `startAt`: wall-clock ms of the first publish. */
  constructor(private readonly startAt: number) {}

  add(line: string): void {
    const m = LINE.exec(line);
    if (!m) return;
    const text = m[4]!;
    if (text.startsWith('httpsession: next: ')) {
      const uri = text.slice('httpsession: next: '.length).trim();
      const second = Math.floor((logLineTime(m[2]!, m[3]!) - this.startAt) / 1000);
      let entry = this.bySecond.get(second);
      if (!entry) this.bySecond.set(second, (entry = { sessions: 0, uris: new Set() }));
      entry.sessions++;
      if (!entry.uris.has(uri)) {
        entry.uris.add(uri);
        if (!/\/after\/0(\/|$)/.test(uri)) this.laterLinks++;
      }
    } else if (text.includes('publish queue at max')) this.queueDrops++;
    else if (text.startsWith('last ID inconsistency')) this.inconsistencies++;
  }

  summary(): NextLinkSummary {
    const seconds = [...this.bySecond.keys()].sort((a, b) => a - b);
    const perSecond = seconds.map((second) => {
      const e = this.bySecond.get(second)!;
      return { second, sessions: e.sessions, links: e.uris.size };
    });
    return {
      perSecond,
      sessions: perSecond.reduce((n, s) => n + s.sessions, 0),
      links: perSecond.reduce((n, s) => n + s.links, 0),
      laterLinks: this.laterLinks,
      queueDrops: this.queueDrops,
      inconsistencies: this.inconsistencies,
      firstSecond: seconds[0],
      lastSecond: seconds.at(-1),
    };
  }
}

export async function nextLinksInLog(file: string, startAt: number): Promise<NextLinkSummary> {
  const counter = new NextLinkCounter(startAt);
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) counter.add(line);
  return counter.summary();
}
