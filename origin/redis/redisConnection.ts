// The Redis connection of a store that lives in Redis (history, presence): how it behaves after a
// drop, connecting with a check that the server answers, failures reported as the store's own
// "unavailable" error naming the server's host (never the URL's password), the store's Lua scripts
// run by their SHA, and closing.
import { Redis } from 'ioredis';

export type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>;

/** The store's error for a Redis it cannot reach (`cause`: the failure, on a call; none when connecting). */
export type UnavailableError = (message: string, cause?: unknown) => Error;

export interface RedisConnection {
  readonly redis: Redis;
  /** The URL's host, for messages. */
  readonly where: string;
  /**
   * Runs `work`; any failure to talk to Redis is thrown as the store's unavailable error (nothing
   * was done), but for errors `passThrough` says are the store's own answers.
   */
  call<T>(work: () => Promise<T>, passThrough?: (error: unknown) => boolean): Promise<T>;
  /**
   * Defines each script (run by its SHA, EVALSHA, loaded once) as the command `commandPrefix + name`
   * (on pipelines too); its runner passes `leadingArgs` (the key count and keys) before its own.
   */
  defineScripts<N extends string>(scripts: Record<N, string>, commandPrefix?: string, leadingArgs?: Array<string | number>): Record<N, ScriptRunner>;
  /** QUIT, or a disconnect where QUIT fails. */
  close(): Promise<void>;
}

/** Connects and checks the server answers (PING); throws `unavailable('cannot reach Redis at HOST: why')` otherwise. */
export async function connectRedis(url: string, unavailable: UnavailableError): Promise<RedisConnection> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    // A command on a connection that went silent (half-open) fails instead of waiting forever.
    commandTimeout: 5000,
    // Keep reconnecting in the background after a drop; a request during the outage fails fast.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on('error', () => {
    // Reported per call; without a listener ioredis would print every reconnect attempt.
  });
  const where = new URL(url).host;
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw unavailable(`cannot reach Redis at ${where}: ${(error as Error).message}`);
  }
  return {
    redis,
    where,
    async call(work, passThrough) {
      try {
        return await work();
      } catch (error) {
        if (passThrough?.(error)) throw error;
        throw unavailable(`Redis at ${where}: ${(error as Error).message}`, error);
      }
    },
    defineScripts<N extends string>(scripts: Record<N, string>, commandPrefix = '', leadingArgs: Array<string | number> = []) {
      const runners = {} as Record<N, ScriptRunner>;
      for (const [name, lua] of Object.entries(scripts) as Array<[N, string]>) {
        redis.defineCommand(`${commandPrefix}${name}`, { lua });
        const command = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[`${commandPrefix}${name}`]!;
        runners[name] = (...args) => command.apply(redis, [...leadingArgs, ...args]);
      }
      return runners;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
