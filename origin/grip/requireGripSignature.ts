// Express guard for realtime endpoints: only a request whose Grip-Sig verifies came through the proxy
// and may receive GRIP instructions. Anything else gets 403 and never a hold or a WebSocket session.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.ts';
import type { GripSignatureVerifier } from './gripSignature.ts';

/**
 * Requests whose Grip-Sig verified. Grip-* and Meta-* headers are the proxy's word only on these: on
 * any other request (the cache path, a client straight at the origin) they are the client's, and
 * nothing may act on them.
 */
const verified = new WeakSet<Request>();

export function isGripVerified(req: Request): boolean {
  return verified.has(req);
}

export function requireGripSignature(
  verify: GripSignatureVerifier,
  log: Logger,
  onRejected: (reason: string) => void = () => {},
) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const result = await verify(req.get('grip-sig'));
    if (result.valid) {
      verified.add(req);
      next();
      return;
    }
    onRejected(result.reason);
    log.warn({ path: req.path, reason: result.reason, ip: req.ip }, 'grip signature rejected');
    res
      .status(403)
      .type('application/json')
      .set('Cache-Control', 'no-store')
      .send(
        JSON.stringify({
          error: 'grip_signature_required',
          message:
            result.reason === 'missing'
              ? 'this endpoint is served through the GRIP proxy (Fanout/Pushpin); connect through the edge'
              : `Grip-Sig rejected (${result.reason})`,
        }),
      );
  };
}
