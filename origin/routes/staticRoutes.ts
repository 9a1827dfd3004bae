// GET / (the live demo page), /assets/* and /client.js (the browser bundle of fanout-forward/client).
// Cache-Control lets the edge cache them (s-maxage) while browsers revalidate the page itself, so a
// deploy shows up within a minute.
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';

const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url));
/** Built by `npm run build:client` (and by `npm install`, through the package's prepare script). */
export const CLIENT_BUNDLE_PATH = fileURLToPath(new URL('../../client/dist/client.min.js', import.meta.url));

export const PAGE_CACHE_CONTROL = 'public, max-age=0, must-revalidate, s-maxage=60';
export const ASSET_CACHE_CONTROL = 'public, max-age=300, s-maxage=86400';
/**
 * The client bundle's URL carries no version: an hour at the edge and five minutes in browsers (then a
 * revalidation by ETag), so a deploy's client reaches every page within about an hour without a purge.
 */
export const CLIENT_BUNDLE_CACHE_CONTROL = 'public, max-age=300, s-maxage=3600';
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

function secure(res: Response): void {
  res.set({ 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
}

export function staticRoutes(options: { clientBundlePath?: string } = {}): Router {
  const router = Router();
  const clientBundle = options.clientBundlePath ?? CLIENT_BUNDLE_PATH;
  router.get('/client.js', (_req, res, next) => {
    secure(res);
    res.set('Cache-Control', CLIENT_BUNDLE_CACHE_CONTROL);
    res.sendFile(clientBundle, { cacheControl: false, headers: { 'Content-Type': 'text/javascript; charset=utf-8' } }, (error) => {
      if (!error) return;
      // Not built (a checkout without `npm install`, or `--omit=dev`): say how, and serve everything else.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !res.headersSent) {
        res
          .status(404)
          .set({ 'Cache-Control': 'no-store', 'Content-Type': 'text/plain; charset=utf-8' })
          .send('The browser client is not built: run `npm run build:client` (`npm install` runs it too), then reload.\n');
        return;
      }
      next(error);
    });
  });
  router.get('/', (_req, res, next) => {
    secure(res);
    res.set('Cache-Control', PAGE_CACHE_CONTROL);
    res.sendFile('index.html', { root: STATIC_DIR, cacheControl: false }, (error) => error && next(error));
  });
  router.use(
    '/assets',
    express.static(STATIC_DIR, {
      index: false,
      fallthrough: true,
      cacheControl: false,
      setHeaders: (res) => {
        secure(res);
        res.setHeader('Cache-Control', ASSET_CACHE_CONTROL);
      },
    }),
  );
  return router;
}
