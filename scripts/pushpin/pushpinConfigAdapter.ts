// Adapts a pushpin.conf written for Pushpin 1.40+ (what `fastly compute serve` writes, whatever Pushpin
// is installed) to the installed version, and its routes, with the generator's rules (pushpinConfig.ts):
// - the runner's service names and zurl for the version (pushpinRunnerLayout; nothing on 1.40+);
// - where zurl runs (before 1.38) and the package's libdir is known, zurl's raised limits: `[global]
//   libdir` pointed at our own (zurlLibdir.ts, ZURL_LIMITS), `{libdir}` in the include made the package's;
// - on every version, the Pushpin profile's settings (pushpinProfiles.ts), in place of the CLI's: its
//   client buffer (the CLI writes Pushpin's 8192: kept under `fanout`, 262144 under `gentle`) and its
//   [handler] settings (the CLI writes Pushpin's example shaping and id cache: 2500/s, 25000, 60 s);
// - before 1.41, the publish body limit under the key those versions read (push_in_max_body_size);
// - on 1.36, the catch-all route (withDefaultRoute) without which a retried long-poll crashes the proxy;
// - on every version, the proxy on 127.0.0.1: the CLI writes `http_port=<port>`, which Pushpin reads as
//   every interface, while the stack runs with development keys (loopbackProxyPorts).
// Only the lines that must change are touched: everything else, comments and order included, is kept
// byte for byte, and a config already right for the version comes back unchanged.
// Hand-written instead of an INI library: those re-serialise the whole file and lose exactly that.
import { LOOPBACK, LEGACY_PUBLISH_BODY_LIMIT_KEY, pushpinRunnerLayout, SERVICE_RENAMES_1_40, withDefaultRoute } from './pushpinConfig.ts';
import { DEFAULT_PUSHPIN_PROFILE, profileLines, type PushpinProfileName } from './pushpinProfiles.ts';
import { compareVersions, type PushpinVersion } from './pushpinVersion.ts';
import { buildZurlTemplate, ZURL_LIMITS, type ZurlLibdirs } from './zurlLibdir.ts';

export interface AdaptedPushpinConfig {
  text: string;
  /** What was changed, one line each, for the log; empty when `text` is the input. */
  changes: string[];
  /** When the config now points `[global] libdir` at `libdirs.own`: write it there (writeOwnLibdir). */
  zurlTemplate?: string;
}

interface IniLine {
  text: string;
  section: string;
  key?: string;
  value?: string;
}

const SECTION = /^\s*\[([^\]]+)\]\s*$/;
const SETTING = /^\s*([^#;=\s][^=]*?)\s*=(.*)$/;

function parseLines(text: string): IniLine[] {
  let section = '';
  return text.split('\n').map((line) => {
    const header = SECTION.exec(line);
    if (header) {
      section = header[1]!.trim();
      return { text: line, section };
    }
    const setting = SETTING.exec(line);
    return setting ? { text: line, section, key: setting[1]!, value: setting[2]!.replace(/\r$/, '').trim() } : { text: line, section };
  });
}

function findSetting(lines: IniLine[], section: string, key: string): number {
  return lines.findIndex((line) => line.section === section && line.key === key);
}

/** Index after which a new setting of `section` goes: its last setting, or its header; -1 if absent. */
function insertionPoint(lines: IniLine[], section: string): number {
  let at = -1;
  lines.forEach((line, index) => {
    if (line.section !== section) return;
    if (line.key !== undefined || (at === -1 && SECTION.test(line.text))) at = index;
  });
  return at;
}

function setSetting(lines: IniLine[], section: string, key: string, value: string): void {
  const line: IniLine = { text: `${key}=${value}`, section, key, value };
  const existing = findSetting(lines, section, key);
  if (existing !== -1) {
    lines[existing] = line;
    return;
  }
  const at = insertionPoint(lines, section);
  if (at !== -1) {
    lines.splice(at + 1, 0, line);
    return;
  }
  // No such section: append one (after a blank line, keeping a trailing newline where there was one).
  const endsWithNewline = lines.length > 0 && lines[lines.length - 1]!.text === '';
  const added: IniLine[] = [{ text: '', section }, { text: `[${section}]`, section }, line];
  if (endsWithNewline) lines.splice(lines.length - 1, 0, ...added);
  else lines.push(...added);
}

/** The services list for `version`: 1.40 names mapped back, zurl added where the runner needs it. */
function servicesFor(listed: string[], version: PushpinVersion): string[] {
  const layout = pushpinRunnerLayout(version);
  const oldName = Object.fromEntries(Object.entries(SERVICE_RENAMES_1_40).map(([before, after]) => [after, before]));
  const mapped = listed.map((name) => oldName[name] ?? name);
  // Before 1.38 outgoing requests go through zurl: a config with a proxy needs it running too.
  if (layout.services.includes('zurl') && mapped.includes('pushpin-proxy') && !mapped.includes('zurl')) {
    const afterCondure = mapped.indexOf('condure') + 1;
    mapped.splice(afterCondure, 0, 'zurl');
  }
  return mapped;
}

/**
 * `[runner] http_port` with each bare port (Pushpin: every interface) put on 127.0.0.1, as the
 * generator writes it (proxyListenValue); an entry that names its address is the author's choice.
 */
export function loopbackProxyPorts(value: string): string {
  return value
    .split(',')
    .map((entry) => (/^\s*\d+\s*$/.test(entry) ? `${LOOPBACK}:${entry.trim()}` : entry))
    .join(',');
}

/**
 * `[global] libdir` pointed at `libdirs.own`, whose runner template gives zurl ZURL_LIMITS, unless the
 * config chooses its own libdir. What `{libdir}` meant (the package's directory: internal.conf) is
 * written out, as the generator does. True when the config changed.
 */
function useOwnLibdir(lines: IniLine[], libdirs: ZurlLibdirs, changes: string[]): boolean {
  for (const [what, path] of Object.entries(libdirs)) {
    if (!path.startsWith('/')) throw new Error(`the ${what} libdir must be an absolute path, got ${path}`);
  }
  if (findSetting(lines, 'global', 'libdir') !== -1) return false;
  lines.forEach((line, index) => {
    if (line.key === undefined || !line.value!.includes('{libdir}')) return;
    const value = line.value!.replaceAll('{libdir}', libdirs.package);
    lines[index] = { ...line, text: `${line.key}=${value}`, value };
    changes.push(`[${line.section}] ${line.key}: ${line.value} -> ${value}`);
  });
  setSetting(lines, 'global', 'libdir', libdirs.own);
  const limits = `max_open_requests=${ZURL_LIMITS.maxOpenRequests}, in_hwm=${ZURL_LIMITS.inHwm}, out_hwm=${ZURL_LIMITS.outHwm}`;
  changes.push(`[global] libdir=${libdirs.own} (added: zurl's own template, ${limits})`);
  return true;
}

export interface AdaptOptions {
  /**
   * Our own libdir for zurl's template and the package's (zurlLibdir.ts); without them (the package's
   * is not known) zurl keeps the package's limits.
   */
  libdirs?: ZurlLibdirs;
  /** The delivery settings to bring the config to; default DEFAULT_PUSHPIN_PROFILE. */
  profile?: PushpinProfileName;
}

export function adaptPushpinConfig(text: string, version: PushpinVersion, options: AdaptOptions = {}): AdaptedPushpinConfig {
  const { libdirs } = options;
  const profile = options.profile ?? DEFAULT_PUSHPIN_PROFILE;
  const layout = pushpinRunnerLayout(version);
  const lines = parseLines(text);
  const changes: string[] = [];
  let zurlTemplate: string | undefined;

  if (compareVersions(version, { major: 1, minor: 40, patch: 0 }) < 0) {
    const servicesAt = findSetting(lines, 'runner', 'services');
    const listed = servicesAt === -1 ? [] : lines[servicesAt]!.value!.split(',').map((name) => name.trim()).filter(Boolean);
    const services = listed.length === 0 ? [...layout.services] : servicesFor(listed, version);
    if (services.join(',') !== listed.join(',')) {
      setSetting(lines, 'runner', 'services', services.join(','));
      changes.push(`[runner] services: ${listed.join(',') || '(none)'} -> ${services.join(',')}`);
    }
    if (services.includes('zurl')) {
      for (const [key, value] of Object.entries(layout.proxySettings)) {
        // A value the config sets itself is the author's choice; only fill in what is missing.
        if (findSetting(lines, 'proxy', key) !== -1) continue;
        setSetting(lines, 'proxy', key, value);
        changes.push(`[proxy] ${key}=${value} (added)`);
      }
      if (libdirs && useOwnLibdir(lines, libdirs, changes)) zurlTemplate = buildZurlTemplate();
    }
  }
  // The CLI's publish body limit (Fanout's 64 KiB) under the key this handler reads (1.41 reads the
  // CLI's own key), so a publish Fastly would refuse is refused locally too.
  const limitAt = findSetting(lines, 'handler', 'push_in_http_max_body_size');
  const readsLegacyKey = compareVersions(version, { major: 1, minor: 41, patch: 0 }) < 0;
  if (readsLegacyKey && limitAt !== -1 && findSetting(lines, 'handler', LEGACY_PUBLISH_BODY_LIMIT_KEY) === -1) {
    const limit = lines[limitAt]!.value!;
    setSetting(lines, 'handler', LEGACY_PUBLISH_BODY_LIMIT_KEY, limit);
    changes.push(`[handler] ${LEGACY_PUBLISH_BODY_LIMIT_KEY}=${limit} (added: this version ignores push_in_http_max_body_size)`);
  }

  const httpPortAt = findSetting(lines, 'runner', 'http_port');
  if (httpPortAt !== -1) {
    const given = lines[httpPortAt]!.value!;
    const bound = loopbackProxyPorts(given);
    if (bound !== given) {
      setSetting(lines, 'runner', 'http_port', bound);
      changes.push(`[runner] http_port: ${given} -> ${bound} (loopback only: the local stack runs with development keys)`);
    }
  }

  // The profile's settings, whatever the config says: the CLI writes Pushpin's example values
  // (client_buffer_size=8192, message_rate=2500, message_hwm=25000, id_cache_ttl=60, ...), which are
  // its template's, not the user's, and the same profile must mean the same Pushpin everywhere.
  for (const section of ['runner', 'handler'] as const) {
    const set: string[] = [];
    for (const line of profileLines(profile, version).filter((l) => l.section === section)) {
      const at = findSetting(lines, section, line.key);
      const given = at === -1 ? undefined : lines[at]!.value!;
      if (given === String(line.value)) continue;
      setSetting(lines, section, line.key, String(line.value));
      set.push(`${line.key} ${given ?? '(unset)'} -> ${line.value}`);
    }
    if (set.length > 0) changes.push(`[${section}] for Pushpin profile ${profile}: ${set.join(', ')}`);
  }
  if (changes.length === 0) return { text, changes };
  return { text: lines.map((line) => line.text).join('\n'), changes, ...(zurlTemplate === undefined ? {} : { zurlTemplate }) };
}

export interface AdaptedPushpinRoutes {
  routes: string;
  /** What was changed, for the log; empty when `routes` is the input. */
  changes: string[];
}

/** The routes file for the installed version: on 1.36 with the generator's catch-all route. */
export function adaptPushpinRoutes(routes: string, version: PushpinVersion): AdaptedPushpinRoutes {
  const adapted = withDefaultRoute(routes, version);
  return { routes: adapted.routes, changes: adapted.added ? [`routes: added "${adapted.added}"`] : [] };
}

/** A setting's value as Pushpin reads it (trimmed), or undefined. */
export function readPushpinSetting(text: string, section: string, key: string): string | undefined {
  const lines = parseLines(text);
  const at = findSetting(lines, section, key);
  return at === -1 ? undefined : lines[at]!.value;
}

/** The config with `[proxy] routesfile` set to `path` (for an adapted copy of the routes). */
export function withRoutesFile(text: string, path: string): string {
  const lines = parseLines(text);
  setSetting(lines, 'proxy', 'routesfile', path);
  return lines.map((line) => line.text).join('\n');
}

/**
 * The config with a relative `[proxy] routesfile` made absolute against `configDir`, for a copy that
 * lives somewhere else (Pushpin reads the routes file relative to the config file).
 */
export function anchorRoutesFile(text: string, configDir: string): string {
  const lines = parseLines(text);
  const at = findSetting(lines, 'proxy', 'routesfile');
  const routes = at === -1 ? 'routes' : lines[at]!.value!;
  if (routes.startsWith('/')) return text;
  setSetting(lines, 'proxy', 'routesfile', `${configDir.replace(/\/$/, '')}/${routes}`);
  return lines.map((line) => line.text).join('\n');
}
