// The channel names a subscribe token grants: exact names, or a prefix ending in `*` (`private-team-*`,
// or `*` alone for every channel).
import { isValidChannelName } from '../../protocol/index.ts';

const PREFIX_BODY = /^[A-Za-z0-9_.-]{0,127}$/;

/** Whether `pattern` is a channel name or a channel-name prefix followed by `*`. */
export function isValidChannelPattern(pattern: string): boolean {
  if (!pattern.endsWith('*')) return isValidChannelName(pattern);
  const prefix = pattern.slice(0, -1);
  return PREFIX_BODY.test(prefix) && !prefix.startsWith('.');
}

export function patternCovers(pattern: string, channel: string): boolean {
  return pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : pattern === channel;
}

export function patternsCover(patterns: readonly string[], channel: string): boolean {
  return patterns.some((pattern) => patternCovers(pattern, channel));
}
