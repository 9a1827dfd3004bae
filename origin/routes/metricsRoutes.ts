// GET /metrics: Prometheus exposition. Everything that is not realtime reaches the origin through the
// edge, so this is guarded by a bearer token (METRICS_TOKEN; in local use PUBLISH_TOKEN when it is
// not set), which Prometheus sends with `authorization: { credentials: ... }` in its scrape config.
// Outside local use without METRICS_TOKEN the route is disabled and says so.
import { Router, type Request, type Response } from 'express';
import type { OriginMetrics } from '../observability/metrics.ts';
import { requireBearerToken } from './bearerToken.ts';

export const METRICS_DISABLED_MESSAGE =
  'GET /metrics is disabled: set METRICS_TOKEN to serve it (outside local use it does not fall back to PUBLISH_TOKEN)';

export function metricsRoutes(deps: { metrics: OriginMetrics; metricsToken: string | undefined }): Router {
  const router = Router();
  const { metricsToken } = deps;
  if (metricsToken === undefined) {
    router.get('/metrics', (_req: Request, res: Response) => {
      res.status(404).set('Cache-Control', 'no-store').json({ error: 'metrics_disabled', message: METRICS_DISABLED_MESSAGE });
    });
    return router;
  }
  router.get('/metrics', requireBearerToken(metricsToken, 'metrics', 'METRICS_TOKEN'), async (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
