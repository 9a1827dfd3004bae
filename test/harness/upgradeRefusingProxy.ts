// An HTTP proxy in front of Pushpin (or the edge) that can refuse WebSocket upgrades (and block paths)
// while passing everything else: a network (a corporate proxy, a firewall) where WebSockets, or
// streams, cannot connect, for the client's fallback. It can also cut the network outright.
import { request, createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface UpgradeRefusingProxy {
  url: string;
  /** Whether upgrades are refused (403) right now. */
  refuseUpgrades: boolean;
  /** HTTP requests below these path prefixes are answered 502 (a proxy that cannot stream them). */
  blockedPaths: string[];
  readonly refused: number;
  /**
   * A network cut: `true` destroys every connection through the proxy at once and every new one as it
   * arrives, until `false` (with Playwright's offline mode, which leaves WebSockets open:
   * microsoft/playwright#4910).
   */
  setOffline(offline: boolean): void;
  stop(): Promise<void>;
}

export async function startUpgradeRefusingProxy(target: string): Promise<UpgradeRefusingProxy> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let offline = false;
  const proxy: UpgradeRefusingProxy = {
    url: '',
    refuseUpgrades: true,
    blockedPaths: [],
    refused: 0,
    setOffline(value) {
      offline = value;
      if (offline) for (const socket of sockets) socket.destroy();
    },
    stop: async () => {},
  };
  let refused = 0;
  const server = createServer((req, res) => {
    if (proxy.blockedPaths.some((prefix) => req.url?.startsWith(prefix))) {
      req.resume();
      res.writeHead(502, { 'content-type': 'text/plain' }).end('blocked by the test proxy');
      return;
    }
    const upstream = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // At once, as the proxy behind sent them: Node would hold them until the first body chunk, and a
      // stream with nothing to say yet would not look open.
      res.flushHeaders();
      answer.pipe(res);
      // An answer cut short (the proxy behind restarted) is cut short here too: pipe() would leave the
      // client's response open and silent.
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    if (offline) return void socket.destroy();
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (proxy.refuseUpgrades) {
      refused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.defineProperty(proxy, 'refused', { get: () => refused });
  proxy.stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
