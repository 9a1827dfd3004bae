// GET /metrics: Prometheus exposition. Everything that is not realtime reaches the origin through the
// edge, so this is guarded by a bearer token (METRICS_TOKEN, else PUBLISH_TOKEN), which Prometheus
// sends with `authorization: { credentials: ... }` in its scrape config.
import { Router, type Request, type Response } from 'express';
import type { OriginMetrics } from '../observability/metrics.ts';
import { tokenMatches } from './publishRoutes.ts';

export function metricsRoutes(deps: { metrics: OriginMetrics; metricsToken: string }): Router {
  const router = Router();
  router.get('/metrics', async (req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const match = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '');
    if (!match || !tokenMatches(match[1]!.trim(), deps.metricsToken)) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer realm="metrics"')
        .json({ error: 'unauthorized', message: 'a valid "Authorization: Bearer <METRICS_TOKEN>" header is required' });
      return;
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
