// Pushpin versions as `pushpin --version` prints them, and the oldest one the local stack runs. Config,
// profiles, the wrapper and the installer all ask which version they face.

export interface PushpinVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Oldest Pushpin that honours `accept_pushpin_route`, which the CLI's routing relies on. */
export const OLDEST_SUPPORTED_PUSHPIN: PushpinVersion = { major: 1, minor: 35, patch: 0 };

export function parsePushpinVersion(output: string): PushpinVersion {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!match) throw new Error(`cannot read a Pushpin version from: ${output.trim() || '(no output)'}`);
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function compareVersions(a: PushpinVersion, b: PushpinVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(version: PushpinVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}
