// Free ports for processes running side by side: never the same port to two of them, nor twice to one.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BLOCK_SIZE, FIRST_PORT } from './portBlocks.ts';
import { findFreePort, findFreePortRange, isPortFree } from './ports.ts';
import { signal } from './processTree.mjs';

const PORTS_MODULE = fileURLToPath(new URL('./ports.ts', import.meta.url));
const PROCESSES = 6;
/** Each process: 80 single ports and 5 ranges of 4, 100 ports. */
const EACH = { singles: 80, ranges: 5 };
const PORTS_EACH = EACH.singles + 4 * EACH.ranges;

/**
 * A process that asks for single ports and ranges of 4, all at once, prints them, and keeps running
 * until its stdin closes: the ports are its own as long as it runs, as a test file's are.
 */
function allocatingProcess(ask: { singles: number; ranges: number }): { child: ChildProcess; ports: Promise<number[]> } {
  const script = `
    import { findFreePort, findFreePortRange } from ${JSON.stringify(PORTS_MODULE)};
    const singles = Array.from({ length: ${ask.singles} }, () => findFreePort());
    const ranges = Array.from({ length: ${ask.ranges} }, () => findFreePortRange(4).then((p) => [p, p + 1, p + 2, p + 3]));
    const ports = [...(await Promise.all(singles)), ...(await Promise.all(ranges)).flat()];
    console.log('PORTS ' + JSON.stringify(ports));
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ports = new Promise<number[]>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /PORTS (\[[^\n]*\])/.exec(text);
      if (match) resolve(JSON.parse(match[1]!) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`the allocating process exited (${code}) before printing its ports: ${text}`)));
  });
  return { child, ports };
}

const lockPortOf = (port: number): number => FIRST_PORT + Math.floor((port - FIRST_PORT) / BLOCK_SIZE) * BLOCK_SIZE;

describe('free ports', () => {
  it(`are never the same for ${PROCESSES} processes taking ${PORTS_EACH} each at once`, async () => {
    const processes = Array.from({ length: PROCESSES }, () => allocatingProcess(EACH));
    onTestFinished(() => {
      for (const { child } of processes) child.kill('SIGKILL');
    });
    const taken = await Promise.all(processes.map((p) => p.ports));
    for (const ports of taken) expect(ports).toHaveLength(PORTS_EACH);
    const owners = new Map<number, number[]>();
    taken.forEach((ports, owner) => {
      for (const port of ports) owners.set(port, [...(owners.get(port) ?? []), owner]);
    });
    const shared = [...owners].filter(([, who]) => who.length > 1).map(([port, who]) => `${port} (processes ${who.join(', ')})`);
    expect(shared, 'ports handed to more than one process, or twice to one').toEqual([]);
  }, 60_000);

  it('come once each in this process, below the ephemeral range, never a block lock port; ranges are consecutive and free', async () => {
    const singles = await Promise.all(Array.from({ length: 300 }, () => findFreePort())); // more than one block
    const range = await findFreePortRange(4);
    const all = [...singles, range, range + 1, range + 2, range + 3];
    expect(new Set(all).size).toBe(all.length);
    for (const port of all) {
      expect(port).toBeGreaterThanOrEqual(FIRST_PORT);
      expect(port).toBeLessThan(32768);
      expect(port).not.toBe(lockPortOf(port));
    }
    expect(lockPortOf(range + 3)).toBe(lockPortOf(range));
    for (let port = range; port < range + 4; port++) expect(await isPortFree(port)).toBe(true);
  });

  it("are free for others again once their process is gone, SIGKILL included", async () => {
    const holder = allocatingProcess({ singles: 0, ranges: 1 });
    onTestFinished(() => void holder.child.kill('SIGKILL'));
    const [port] = await holder.ports;
    const lock = lockPortOf(port!);
    expect(await isPortFree(lock)).toBe(false); // the block is held
    signal(holder.child.pid!, 'SIGKILL');
    await new Promise((resolve) => holder.child.once('exit', resolve));
    expect(await isPortFree(lock)).toBe(true);
  });
});
