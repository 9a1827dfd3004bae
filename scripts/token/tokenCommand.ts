// `npm run token -- <channel...> [--ttl SECONDS] [--sub ID] [--info JSON] [--publish]`: the arguments, validated.
import { parseArgs } from 'node:util';
import { isValidChannelPattern } from '../../origin/access/channelPattern.ts';
import { isPresenceInfo, PRESENCE_INFO_MAX_BYTES, type PresenceInfo } from '../../protocol/index.ts';
import { MIN_SECRET_BYTES } from '../../origin/access/subscribeToken.ts';
import { DEV_SUBSCRIBE_TOKEN_SECRET } from '../../origin/config/originConfig.ts';

export const DEFAULT_TTL_SECONDS = 3600;
const MAX_TTL_SECONDS = 366 * 24 * 3600;

export interface TokenCommand {
  channels: string[];
  ttlSeconds: number;
  sub?: string;
  /** Presence info (the `info` claim). */
  info?: PresenceInfo;
  publish: boolean;
  secret: string;
  /** The secret is the local development one (SUBSCRIBE_TOKEN_SECRET is not set). */
  devSecret: boolean;
}

export class TokenUsageError extends Error {
  override name = 'TokenUsageError';
}

export const TOKEN_HELP = `Usage: npm run token -- <channel...> [--ttl SECONDS] [--sub ID] [--info JSON] [--publish]

Prints a subscribe token (a JWT, HS256) for private channels, signed with SUBSCRIBE_TOKEN_SECRET
(or, when it is not set, the local development secret a local origin uses too).

  <channel...>      channel names, or prefixes ending in * (quote them: 'private-team-*')
  --ttl SECONDS     lifetime, default ${DEFAULT_TTL_SECONDS}
  --sub ID          the subscriber's id (the "sub" claim): who it is in a channel's presence
  --info JSON       what presence shows of it (the "info" claim): a JSON object, ${PRESENCE_INFO_MAX_BYTES} bytes at most
  --publish         also allow WebSocket clients holding it to publish to these channels
  -h, --help        this text

Example:
  npm run token -- private-news --ttl 600
  curl -N "http://127.0.0.1:7676/events/private-news?token=$(npm run -s token -- private-news)"
`;

export function parseTokenCommand(argv: string[], env: Record<string, string | undefined>): TokenCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ttl: { type: 'string' },
        sub: { type: 'string' },
        info: { type: 'string' },
        publish: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new TokenUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new TokenUsageError('name at least one channel');
  const bad = positionals.find((c) => !isValidChannelPattern(c));
  if (bad !== undefined) {
    throw new TokenUsageError(`"${bad}" is not a channel name (letters, digits, '_', '-', '.'; 1-128) or a prefix ending in *`);
  }
  let ttlSeconds = DEFAULT_TTL_SECONDS;
  if (values.ttl !== undefined) {
    if (!/^\d+$/.test(values.ttl) || Number(values.ttl) < 1 || Number(values.ttl) > MAX_TTL_SECONDS) {
      throw new TokenUsageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}, got "${values.ttl}"`);
    }
    ttlSeconds = Number(values.ttl);
  }
  if (values.sub !== undefined && (values.sub === '' || values.sub.length > 256)) {
    throw new TokenUsageError('--sub must be 1 to 256 characters');
  }
  let info: PresenceInfo | undefined;
  if (values.info !== undefined) {
    try {
      info = JSON.parse(values.info) as PresenceInfo;
    } catch {
      throw new TokenUsageError('--info must be JSON, e.g. \'{"name":"Ann"}\'');
    }
    if (!isPresenceInfo(info)) throw new TokenUsageError(`--info must be a JSON object of at most ${PRESENCE_INFO_MAX_BYTES} bytes`);
  }
  const envSecret = env.SUBSCRIBE_TOKEN_SECRET;
  if (envSecret !== undefined && Buffer.byteLength(envSecret) < MIN_SECRET_BYTES) {
    throw new TokenUsageError(`SUBSCRIBE_TOKEN_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  return {
    channels: positionals,
    ttlSeconds,
    ...(values.sub !== undefined ? { sub: values.sub } : {}),
    ...(info !== undefined ? { info } : {}),
    publish: values.publish === true,
    secret: envSecret ?? DEV_SUBSCRIBE_TOKEN_SECRET,
    devSecret: envSecret === undefined,
  };
}
