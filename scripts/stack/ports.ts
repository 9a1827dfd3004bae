// Port checks for the local stack: fail early with a clear message instead of a half-started stack,
// and hand tests free ports so several stacks (and a running `npm start`) never collide.
import { createServer } from 'node:net';

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

/** Finds `count` consecutive free ports (Pushpin needs publish, publish+1..+3). */
export async function findFreePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    // Below Linux's ephemeral range (32768-60999): a port found free there can be taken a moment later
    // by any outgoing connection's local end (seen here: the origin failing with EADDRINUSE).
    const base = 20000 + Math.floor(Math.random() * (32768 - 20000 - count));
    let allFree = true;
    for (let i = 0; i < count && allFree; i++) allFree = await isPortFree(base + i);
    if (allFree) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export async function findFreePort(): Promise<number> {
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

