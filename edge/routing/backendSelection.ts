// Which backend serves a request, from the POP it arrived at (FASTLY_POP) and the `pop_backends` map.
// The same choice is used for Fanout handoffs and cached forwarding, so a client's realtime and
// ordinary requests reach the same origin.
import type { PopBackends } from '../settings/edgeSettings.ts';

/** `missing` means the service has no backend of that name; `unknown` means no health check is configured. */
export type BackendHealth = 'healthy' | 'unhealthy' | 'unknown' | 'missing';

export type BackendHealthProbe = (backend: string) => BackendHealth;

export interface BackendChoice {
  backend: string;
  reason: 'pop-entry' | 'default' | 'fallback-to-default';
  /** Set on a fallback: the POP's own backend, and why it was not used. */
  skipped?: { backend: string; health: BackendHealth };
}

function usable(health: BackendHealth): boolean {
  return health !== 'unhealthy' && health !== 'missing';
}

export function selectBackend(pop: string | undefined, popBackends: PopBackends, probe: BackendHealthProbe): BackendChoice {
  const wanted = pop === undefined ? undefined : popBackends.byPop.get(pop.toUpperCase());
  if (wanted === undefined || wanted === popBackends.default) return { backend: popBackends.default, reason: 'default' };
  const health = probe(wanted);
  // Fall back only where it helps: an unusable POP backend and a default that is not known to be down.
  if (!usable(health) && usable(probe(popBackends.default))) {
    return { backend: popBackends.default, reason: 'fallback-to-default', skipped: { backend: wanted, health } };
  }
  return { backend: wanted, reason: 'pop-entry' };
}
