// Ports handed to one process only. A port found free and released stays free for anyone until the
// process meant to use it binds it, so two processes picking at random at once (test files in
// parallel, a benchmark beside them) can pick the same one; whoever binds second loses it. Pushpin
// 1.36's handler does not even report a failed bind of its publish port: its stack came up, its
// readiness wait saw the other process's listener, and its publishes were refused once that one
// went away (a fault test, 15 attempts in 9.8 s, ECONNREFUSED).
// So each process draws from blocks of its own: block K is the BLOCK_SIZE ports from
// FIRST_PORT + K * BLOCK_SIZE, held by the process listening on its first port (the lock port, never
// handed out). The kernel releases that port when the process ends, however it ends, so a block is
// free again exactly when its holder is gone: no lock files, nothing stale. Within a process each
// port is handed out once (a stack restarted later on its ports finds them still its own), and only
// ports free at that moment (another program may use one). All lie below Linux's ephemeral range
// (32768-60999), so no outgoing connection's local end takes one either.
import { createServer, type Server } from 'node:net';

export const FIRST_PORT = 20000;
export const BLOCK_SIZE = 128;
/** Blocks from FIRST_PORT up to 32767, below the ephemeral range. */
export const BLOCK_COUNT = Math.floor((32768 - FIRST_PORT) / BLOCK_SIZE);

interface HeldBlock {
  lock: Server;
  /** The lock port; the block's ports are the BLOCK_SIZE - 1 after it. */
  start: number;
}

interface Allocation {
  blocks: HeldBlock[];
  /** The next port to try, in the last block held. */
  next: number;
  /** Allocations one after the other: two at once must not both take `next`. */
  queue: Promise<unknown>;
}

// On globalThis: every copy of this module in the process (a test runner may load it more than once)
// shares the blocks, so it holds as few as it needs and never hands a port out twice.
const STATE = Symbol.for('fanout-forward.portBlocks');
const holder = globalThis as typeof globalThis & { [STATE]?: Allocation };
function allocation(): Allocation {
  holder[STATE] ??= { blocks: [], next: 0, queue: Promise.resolve() };
  return holder[STATE];
}

/** Listens on 127.0.0.1:`port` (as a lock), or undefined when that port is taken. */
function listenExclusively(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      // The lock lives as long as this process, without keeping it alive.
      server.unref();
      resolve(server);
    });
  });
}

async function claimBlock(state: Allocation): Promise<HeldBlock> {
  // From a random block on, so that processes starting together do not all try the same ones first.
  const first = Math.floor(Math.random() * BLOCK_COUNT);
  for (let i = 0; i < BLOCK_COUNT; i++) {
    const start = FIRST_PORT + ((first + i) % BLOCK_COUNT) * BLOCK_SIZE;
    if (state.blocks.some((block) => block.start === start)) continue;
    const lock = await listenExclusively(start);
    if (!lock) continue; // held by another process (or taken by some other program)
    const block = { lock, start };
    state.blocks.push(block);
    state.next = start + 1;
    return block;
  }
  throw new Error(
    `no free block of ports: all ${BLOCK_COUNT} blocks of ${BLOCK_SIZE} from ${FIRST_PORT} are held by other processes (or their first ports are taken)`,
  );
}

/**
 * `count` consecutive ports that no other process is handed, and this one is handed once, each free
 * when checked by `isFree`. Resolves with the first.
 */
export function leaseConsecutivePorts(count: number, isFree: (port: number) => Promise<boolean>): Promise<number> {
  if (!Number.isInteger(count) || count < 1 || count >= BLOCK_SIZE) {
    return Promise.reject(new Error(`cannot lease ${count} consecutive ports (1-${BLOCK_SIZE - 1})`));
  }
  const state = allocation();
  const lease = state.queue.then(async () => {
    let block = state.blocks.at(-1) ?? (await claimBlock(state));
    for (;;) {
      if (state.next + count > block.start + BLOCK_SIZE) {
        block = await claimBlock(state);
        continue;
      }
      const first = state.next;
      let allFree = true;
      for (let port = first; port < first + count && allFree; port++) allFree = await isFree(port);
      // Taken ports are skipped for good: whoever holds one may still be using it later.
      state.next = allFree ? first + count : first + 1;
      if (allFree) return first;
    }
  });
  state.queue = lease.catch(() => undefined);
  return lease;
}
