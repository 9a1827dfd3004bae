// GET /metrics: Prometheus exposition. Everything that is not realtime reaches the origin through the
// edge, so this is guarded by a bearer token (METRICS_TOKEN, else PUBLISH_TOKEN), which Prometheus
// sends with `authorization: { credentials: ... }` in its scrape config.
import { Router, type Request, type Response } from 'express';
import type { OriginMetrics } from '../observability/metrics.ts';
import { requireBearerToken } from './bearerToken.ts';

export function metricsRoutes(deps: { metrics: OriginMetrics; metricsToken: string }): Router {
  const router = Router();
  router.get('/metrics', requireBearerToken(deps.metricsToken, 'metrics', 'METRICS_TOKEN'), async (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
