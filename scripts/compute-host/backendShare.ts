// How many guest workers one backend may hold. A guest that waits on a backend blocks its worker
// thread, so a slow backend with enough requests in flight would take every worker and starve
// requests that need none (Fanout handoffs, cache hits). Each backend gets the pool's maximum less a
// reserve; a send over it fails at once with `connection_limit_reached`, as a Fastly backend's
// connection limit does. Counted from the send until the backend's response head (or its failure).
export class BackendShare {
  private readonly inFlight = new Map<string, number>();
  readonly limit: number;

  constructor(readonly maxWorkers: number) {
    this.limit = Math.max(1, maxWorkers - BackendShare.reserveFor(maxWorkers));
  }

  /** Workers no single backend can take: an eighth of the pool, at least 2 (none for a pool of 1). */
  static reserveFor(maxWorkers: number): number {
    return Math.min(maxWorkers - 1, Math.max(2, Math.ceil(maxWorkers / 8)));
  }

  /** Takes a slot for `backend`, or returns false when it already has `limit` requests in flight. */
  tryAcquire(backend: string): boolean {
    const current = this.inFlight.get(backend) ?? 0;
    if (current >= this.limit) return false;
    this.inFlight.set(backend, current + 1);
    return true;
  }

  release(backend: string): void {
    const current = this.inFlight.get(backend) ?? 0;
    if (current <= 1) this.inFlight.delete(backend);
    else this.inFlight.set(backend, current - 1);
  }

  count(backend: string): number {
    return this.inFlight.get(backend) ?? 0;
  }
}
