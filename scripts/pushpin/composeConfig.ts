// The Pushpin config that docker-compose.yml mounts into the official fanout/pushpin image, generated
// from fastly.toml by the same generator as the local harness: the CLI's ports, signing key and issuer,
// one route per backend, with the `origin` backend pointed at the compose service of that name.
// The files are committed (scripts/pushpin/compose/), so `docker compose up` needs no build step;
// `npm run compose:config` rewrites them and a test fails when they are stale. They carry the default
// Pushpin profile (pushpinProfiles.ts); `npm run compose:config -- --pushpin-profile fanout` writes
// another one for a local experiment (the committed files stay on the default).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readManifest, type LocalManifest, type ManifestBackend } from '../shared/fastlyManifest.ts';
import { PROJECT_ROOT } from '../shared/projectRoot.ts';
import { buildPushpinConfig, EVERY_INTERFACE, type PushpinConfigFiles } from './pushpinConfig.ts';
import { parsePushpinVersion } from './pushpinVersion.ts';
import { DEFAULT_PUSHPIN_PROFILE, parsePushpinProfileName, PUSHPIN_PROFILE_NAMES, PushpinProfileError, type PushpinProfileName } from './pushpinProfiles.ts';

/** The image docker-compose.yml runs; its version decides the service names in the config. */
export const COMPOSE_PUSHPIN_IMAGE = 'fanout/pushpin:1.41.0-1';
/** The compose service the origin runs as, and its port (the origin's default, as in fastly.toml). */
export const COMPOSE_ORIGIN_SERVICE = 'origin';
export const COMPOSE_ORIGIN_PORT = 3000;
/** Where the image looks for pushpin.conf and routes. */
export const COMPOSE_CONFIG_DIR = join(PROJECT_ROOT, 'scripts/pushpin/compose');

/** The backends as the Pushpin container reaches them: `origin` is the compose service. */
export function composeBackends(manifest: LocalManifest): ManifestBackend[] {
  return manifest.backends.map((backend) =>
    backend.name === COMPOSE_ORIGIN_SERVICE
      ? { name: backend.name, url: new URL(`http://${COMPOSE_ORIGIN_SERVICE}:${COMPOSE_ORIGIN_PORT}`) }
      : backend,
  );
}

export function buildComposePushpinFiles(manifest: LocalManifest, profile: PushpinProfileName = DEFAULT_PUSHPIN_PROFILE): PushpinConfigFiles {
  const files = buildPushpinConfig({
    profile,
    version: parsePushpinVersion(COMPOSE_PUSHPIN_IMAGE.split(':')[1]!),
    // The image creates /var/run/pushpin for its user; logs go to the container's output (--merge-output).
    rundir: '/var/run/pushpin',
    logdir: '/var/run/pushpin',
    proxyPort: manifest.pushpin.proxyPort,
    publishPort: manifest.pushpin.publishPort,
    // Published to the host (on its loopback only: docker-compose.yml) and reached by the origin
    // container: listen on every interface of the container.
    bindAddress: EVERY_INTERFACE,
    proxyAddress: EVERY_INTERFACE,
    backends: composeBackends(manifest),
  });
  const header = `# For ${COMPOSE_PUSHPIN_IMAGE} in docker-compose.yml. Do not edit: \`npm run compose:config\` regenerates it.\n`;
  return { config: header + files.config, routes: files.routes };
}

export function composeConfigFiles(dir = COMPOSE_CONFIG_DIR): { config: string; routes: string } {
  return { config: join(dir, 'pushpin.conf'), routes: join(dir, 'routes') };
}

export const COMPOSE_CONFIG_HELP = `Usage: npm run compose:config [-- --pushpin-profile NAME]

Writes the Pushpin config that docker-compose.yml mounts into ${COMPOSE_PUSHPIN_IMAGE}
(scripts/pushpin/compose/pushpin.conf and routes), generated from fastly.toml: the CLI's ports,
signing key and issuer, one route per backend, the "${COMPOSE_ORIGIN_SERVICE}" backend pointed at the compose
service of that name. The files are committed; test/pushpin/dockerCompose.test.ts fails when they are stale.

  --pushpin-profile NAME   the Pushpin profile's delivery settings: ${PUSHPIN_PROFILE_NAMES.join(', ')}
                           (default ${DEFAULT_PUSHPIN_PROFILE}, what is committed; another is for a local experiment)
  -h, --help               this text
`;

export class ComposeConfigUsageError extends Error {
  override name = 'ComposeConfigUsageError';
}

/** The command's arguments: the profile to write, or 'help'. */
export function parseComposeConfigArgs(argv: string[]): { profile: PushpinProfileName } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { 'pushpin-profile': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    throw new ComposeConfigUsageError((error as Error).message);
  }
  if (values.help) return 'help';
  try {
    return { profile: values['pushpin-profile'] === undefined ? DEFAULT_PUSHPIN_PROFILE : parsePushpinProfileName(values['pushpin-profile'], '--pushpin-profile') };
  } catch (error) {
    if (error instanceof PushpinProfileError) throw new ComposeConfigUsageError(error.message);
    throw error;
  }
}

function main(): void {
  let parsed: ReturnType<typeof parseComposeConfigArgs>;
  try {
    parsed = parseComposeConfigArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ComposeConfigUsageError)) throw error;
    process.stderr.write(`npm run compose:config: ${error.message}\n\n${COMPOSE_CONFIG_HELP}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(COMPOSE_CONFIG_HELP);
    return;
  }
  const { profile } = parsed;
  const manifestPath = join(PROJECT_ROOT, 'fastly.toml');
  const files = buildComposePushpinFiles(readManifest(manifestPath), profile);
  const paths = composeConfigFiles();
  mkdirSync(COMPOSE_CONFIG_DIR, { recursive: true });
  for (const [path, text] of [[paths.config, files.config], [paths.routes, files.routes]] as const) {
    let before = '';
    try {
      before = readFileSync(path, 'utf8');
    } catch {
      // new file
    }
    writeFileSync(path, text);
    console.log(`${before === text ? 'unchanged' : 'wrote'} ${path}`);
  }
  if (profile !== DEFAULT_PUSHPIN_PROFILE) {
    console.log(`Pushpin profile ${profile}, not the default ${DEFAULT_PUSHPIN_PROFILE}: do not commit it (test/pushpin/dockerCompose.test.ts expects the default)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
