// Readiness (GET /readyz): whether the origin can do its work now, that is store messages (the
// history: Redis when REDIS_URL is set) and hand them to the proxy (every GRIP publish target). Each
// check is bounded in time; results are shared for a moment, so a probe storm (the route is public
// through the edge) costs the targets one request per check and second, not one per probe.

export interface ReadinessCheck {
  name: string;
  /** Where it looks (host:port), shown only in local use: outside it, internal addresses stay private. */
  target: string;
  /** Resolves when ready; throws with a short reason otherwise. */
  run(signal: AbortSignal): Promise<void>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  target?: string;
  error?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckResult[];
}

export interface ReadinessOptions {
  timeoutMs?: number;
  /** How long a report is reused. */
  reuseMs?: number;
  /** Include targets in the report (local use). */
  showTargets: boolean;
  now?: () => number;
}

export interface Readiness {
  report(): Promise<ReadinessReport>;
}

function reasonOf(error: unknown): string {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code ?? (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (typeof code === 'string' ? `${code}: ${message}` : message).slice(0, 300);
}

export function createReadiness(checks: ReadinessCheck[], options: ReadinessOptions): Readiness {
  const timeoutMs = options.timeoutMs ?? 2000;
  const reuseMs = options.reuseMs ?? 1000;
  const now = options.now ?? Date.now;
  let last: { at: number; report: Promise<ReadinessReport> } | undefined;

  const runOne = async (check: ReadinessCheck): Promise<CheckResult> => {
    const started = now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const where = options.showTargets ? { target: check.target } : {};
    try {
      await Promise.race([check.run(controller.signal), timeout]);
      return { name: check.name, ok: true, ...where, ms: now() - started };
    } catch (error) {
      return { name: check.name, ok: false, ...where, error: reasonOf(error), ms: now() - started };
    } finally {
      clearTimeout(timer);
    }
  };

  const fresh = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(checks.map(runOne));
    return { ready: results.every((r) => r.ok), checks: results };
  };

  return {
    report() {
      if (!last || now() - last.at >= reuseMs) last = { at: now(), report: fresh() };
      return last.report;
    },
  };
}

/**
 * A GRIP publish target answers HTTP: any answer below 500 to GET on its control URI (Pushpin's
 * publish port answers 200 "Pushpin API"; Fastly's API answers 401 without a key) means it is up.
 */
export function publishTargetCheck(controlUri: string, fetchImpl: typeof fetch = fetch): ReadinessCheck {
  const url = new URL(controlUri);
  return {
    name: 'publish_target',
    target: url.host,
    async run(signal) {
      const response = await fetchImpl(`${controlUri}/`, { method: 'GET', signal });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 500) throw new Error(`answered ${response.status}`);
    },
  };
}
