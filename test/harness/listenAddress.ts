// Where a port can be reached from: loopback, or this machine's address on the network (what another
// machine would connect to), for tests that check what the local stack exposes.
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/** An IPv4 address of this machine that is not loopback, or undefined when it has none. */
export function nonLoopbackAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal && !address.address.startsWith('127.')) return address.address;
    }
  }
  return undefined;
}

/**
 * Whether `host:port` accepts a TCP connection: 'accepted', or the error code ('ECONNREFUSED' when
 * nothing listens on that address).
 */
export function tryConnect(host: string, port: number, timeoutMs = 5000): Promise<'accepted' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code ?? error.message);
    });
  });
}
