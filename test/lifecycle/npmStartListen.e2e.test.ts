// What `npm start` exposes to the network: it runs with development keys, so by default every port of
// the stack, Pushpin's proxy included, listens on 127.0.0.1 only; `--pushpin-listen-all` puts the
// proxy on every interface, with a warning, and nothing else.
import { describe, it } from 'vitest';
import { nonLoopbackAddress, tryConnect } from '../harness/listenAddress.ts';
import { allPorts, interruptNpmStart, startNpmStartUp, type NpmStart } from '../harness/npmStart.ts';

const NO_NETWORK_ADDRESS = 'this machine has no non-loopback IPv4 address (os.networkInterfaces()), so nothing can be checked from the network side';

/** Every port of the stack but the proxy, each as seen from `host`. */
async function otherPortsFrom(npm: NpmStart, host: string): Promise<Record<number, string>> {
  const others = allPorts(npm.ports).filter((port) => port !== npm.ports.pushpinProxy);
  return Object.fromEntries(await Promise.all(others.map(async (port) => [port, await tryConnect(host, port)] as const)));
}

const refusedEverywhere = (ports: Record<number, string>): Record<number, string> =>
  Object.fromEntries(Object.keys(ports).map((port) => [port, 'ECONNREFUSED']));

async function throughProxy(host: string, port: number): Promise<number> {
  const response = await fetch(`http://${host}:${port}/healthz`, { headers: { 'pushpin-route': 'origin' } });
  await response.arrayBuffer();
  return response.status;
}

// Each case runs an `npm start` of its own on its own ports: they run at once.
describe.concurrent('npm start and the network', () => {
  it("listens on 127.0.0.1 only, Pushpin's proxy included", async (context) => {
    const { expect } = context;
    const npm = await startNpmStartUp(context);
    expect(await tryConnect('127.0.0.1', npm.ports.pushpinProxy)).toBe('accepted');
    expect(await throughProxy('127.0.0.1', npm.ports.pushpinProxy)).toBe(200);
    expect(npm.output()).not.toMatch(/every interface/);
    const address = nonLoopbackAddress();
    if (address === undefined) {
      console.warn(`skipped the network side: ${NO_NETWORK_ADDRESS}`);
    } else {
      expect(await tryConnect(address, npm.ports.pushpinProxy), `the proxy at ${address}`).toBe('ECONNREFUSED');
      const others = await otherPortsFrom(npm, address);
      expect(others, `the other ports at ${address}`).toEqual(refusedEverywhere(others));
    }
    // Ctrl-C: every process gone.
    expect((await interruptNpmStart(npm, 8000)).alive).toEqual([]);
  }, 120_000);

  it("with --pushpin-listen-all, puts Pushpin's proxy on every interface, warns about the development keys, and nothing else", async (context) => {
    const address = nonLoopbackAddress();
    if (address === undefined) context.skip(NO_NETWORK_ADDRESS);
    const { expect } = context;
    const npm = await startNpmStartUp(context, { args: ['--pushpin-listen-all'] });
    expect(npm.output()).toMatch(
      new RegExp(`npm start: Pushpin's proxy listens on every interface \\(0\\.0\\.0\\.0:${npm.ports.pushpinProxy}\\), not only on 127\\.0\\.0\\.1: this stack runs with development keys`),
    );
    expect(await throughProxy(address!, npm.ports.pushpinProxy)).toBe(200);
    expect(await throughProxy('127.0.0.1', npm.ports.pushpinProxy)).toBe(200);
    const others = await otherPortsFrom(npm, address!);
    expect(others, `the other ports at ${address}`).toEqual(refusedEverywhere(others));
    // Ctrl-C: every process gone.
    expect((await interruptNpmStart(npm, 8000)).alive).toEqual([]);
  }, 120_000);
});
