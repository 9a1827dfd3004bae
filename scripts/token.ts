// `npm run token`: prints a subscribe token for private channels (see scripts/token/tokenCommand.ts).
import { signSubscribeToken } from '../origin/access/subscribeToken.ts';
import { parseTokenCommand, TOKEN_HELP, TokenUsageError } from './token/tokenCommand.ts';

try {
  const command = parseTokenCommand(process.argv.slice(2), process.env);
  if (command === 'help') {
    process.stdout.write(TOKEN_HELP);
  } else {
    if (command.devSecret) process.stderr.write('token: SUBSCRIBE_TOKEN_SECRET is not set; signing with the local development secret\n');
    const token = await signSubscribeToken(
      {
        channels: command.channels,
        ttlSeconds: command.ttlSeconds,
        publish: command.publish,
        ...(command.sub ? { sub: command.sub } : {}),
        ...(command.info ? { info: command.info } : {}),
      },
      command.secret,
    );
    process.stdout.write(`${token}\n`);
  }
} catch (error) {
  if (!(error instanceof TokenUsageError)) throw error;
  process.stderr.write(`token: ${error.message}\nRun with --help for usage.\n`);
  process.exitCode = 2;
}
