// GET / (the live demo page) and /assets/*. Cache-Control lets the edge cache them (s-maxage) while
// browsers revalidate the page itself, so a deploy shows up within a minute.
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';

const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url));

export const PAGE_CACHE_CONTROL = 'public, max-age=0, must-revalidate, s-maxage=60';
export const ASSET_CACHE_CONTROL = 'public, max-age=300, s-maxage=86400';
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

function secure(res: Response): void {
  res.set({ 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
}

export function staticRoutes(): Router {
  const router = Router();
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
