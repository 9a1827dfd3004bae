// Port checks for the local stack: fail early with a clear message instead of a half-started stack,
// and hand tests and benchmarks free ports so several stacks (and a running `npm start`) never collide.
import { createServer } from 'node:net';
import { leaseConsecutivePorts } from './portBlocks.ts';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/** Throws naming every taken port and what the stack wanted it for. */
export async function assertPortsFree(wanted: Record<string, number>): Promise<void> {
  const taken: string[] = [];
  for (const [purpose, port] of Object.entries(wanted)) {
    if (!(await isPortFree(port))) taken.push(`${port} (${purpose})`);
  }
  if (taken.length > 0) {
    throw new PortInUseError(
      `port${taken.length > 1 ? 's' : ''} already in use: ${taken.join(', ')}. ` +
        'Stop whatever holds them (is another `npm start` running? try `ss -ltnp`) or choose other ports.',
    );
  }
}

/**
 * `count` consecutive free ports (Pushpin needs publish, publish+1..+3) that no other process using
 * these functions is handed while this one runs, and this one only once (portBlocks.ts): tests and
 * benchmarks running side by side never pick the same port.
 */
export function findFreePortRange(count: number): Promise<number> {
  return leaseConsecutivePorts(count, (port) => isPortFree(port));
}

export function findFreePort(): Promise<number> {
  return findFreePortRange(1);
}

/**
 * Free ports for a whole local stack: the origin, Pushpin's proxy and its 4 publish ports (a range),
 * and the edge when asked. For tests and benchmarks that run beside `npm start` and each other.
 */
export async function freeStackPorts(options: { edge?: boolean } = {}): Promise<{ origin: number; pushpinProxy: number; pushpinPublish: number; edge?: number }> {
  return {
    origin: await findFreePort(),
    pushpinProxy: await findFreePort(),
    pushpinPublish: await findFreePortRange(4),
    ...(options.edge ? { edge: await findFreePort() } : {}),
  };
}

