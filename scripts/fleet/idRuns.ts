// The ids one subscriber handed on, kept compactly for thousands of subscribers in one process: runs
// of consecutive ids (an epoch numbers a channel's messages one by one, so a subscriber that got
// everything holds one run per epoch: 16 bytes, where a Set costs tens of bytes an id). Ids as numbers:
// the origin's ids start from the clock in thousandths of a millisecond (origin/history/historyStore.ts,
// epochBaseAt), below 2^53 for centuries; requested ids are not used by the harnesses.

/** What recording an id found: the first time and after every earlier one, a repeat, or below a later one. */
export type IdArrival = 'next' | 'repeat' | 'out-of-order';

export class IdRuns {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private count = 0;

  /** How many distinct ids. */
  get size(): number {
    return this.count;
  }

  /** How many runs of consecutive ids (1 for a subscriber that got every id of one epoch). */
  get runs(): number {
    return this.starts.length;
  }

  get first(): number | undefined {
    return this.starts[0];
  }

  get last(): number | undefined {
    return this.ends.at(-1);
  }

  add(id: number): IdArrival {
    const n = this.starts.length;
    const last = n === 0 ? undefined : this.ends[n - 1]!;
    if (last === undefined || id > last + 1) {
      this.starts.push(id);
      this.ends.push(id);
    } else if (id === last + 1) {
      this.ends[n - 1] = id;
    } else {
      const i = this.runAtOrBefore(id);
      if (i >= 0 && id <= this.ends[i]!) return 'repeat';
      this.insert(i, id);
      this.count++;
      return 'out-of-order';
    }
    this.count++;
    return 'next';
  }

  has(id: number): boolean {
    const i = this.runAtOrBefore(id);
    return i >= 0 && id <= this.ends[i]!;
  }

  /** How many of `sorted` (ascending, no repeats) are held: one walk over both. */
  countIn(sorted: readonly number[]): number {
    let held = 0;
    this.walk(sorted, () => held++, () => {});
    return held;
  }

  /** The first `most` of `sorted` (ascending, no repeats) that are not held. */
  missingFrom(sorted: readonly number[], most = Infinity): number[] {
    const missing: number[] = [];
    this.walk(sorted, () => {}, (id) => {
      if (missing.length < most) missing.push(id);
    });
    return missing;
  }

  /** `5..9, 12, 14..20`, at most `most` runs. */
  describe(most = 6): string {
    if (this.starts.length === 0) return 'none';
    const parts = this.starts.slice(0, most).map((start, i) => (start === this.ends[i] ? `${start}` : `${start}..${this.ends[i]}`));
    return this.starts.length > most ? `${parts.join(', ')}, ... (${this.starts.length} runs)` : parts.join(', ');
  }

  private walk(sorted: readonly number[], held: (id: number) => void, notHeld: (id: number) => void): void {
    let r = 0;
    for (const id of sorted) {
      while (r < this.ends.length && this.ends[r]! < id) r++;
      if (r < this.starts.length && this.starts[r]! <= id) held(id);
      else notHeld(id);
    }
  }

  /** The index of the last run starting at or before `id`; -1 when none does. */
  private runAtOrBefore(id: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= id) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Puts `id`, held by no run, between run `i` (-1: before the first) and run `i + 1`, joining runs it touches. */
  private insert(i: number, id: number): void {
    const joinsBefore = i >= 0 && this.ends[i]! + 1 === id;
    const joinsAfter = i + 1 < this.starts.length && this.starts[i + 1]! - 1 === id;
    if (joinsBefore && joinsAfter) {
      this.ends[i] = this.ends[i + 1]!;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsBefore) this.ends[i] = id;
    else if (joinsAfter) this.starts[i + 1] = id;
    else {
      this.starts.splice(i + 1, 0, id);
      this.ends.splice(i + 1, 0, id);
    }
  }
}
