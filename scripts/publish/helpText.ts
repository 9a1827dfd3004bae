// The --help text. Options come from OPTION_SPECS so every accepted option is listed.
import { OPTION_SPECS } from './cliOptions.ts';

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export function helpText(): string {
  const indent = ' '.repeat(30);
  const options = OPTION_SPECS.map((spec) => {
    const names = `${spec.short ? `-${spec.short}, ` : '    '}--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
    const pad = names.length >= 28 ? `\n${indent}` : ' '.repeat(28 - names.length);
    return `  ${names}${pad}${wrap(spec.description, 74, indent)}`;
  }).join('\n');
  return `Publish a message to every transport (SSE, NDJSON stream, long-poll, WebSocket) of a channel.

Usage:
  npm run publish -- <channel> <message> [options]
  npm run publish -- <channel> --close [options]
  npm run publish -- <channel> - [options]            one message a line from standard input
  npm run publish -- [<channel>] --file PATH [options]

The message is JSON when it parses as JSON ('{"a":1}', 42, true, "\\"quoted\\""), otherwise the text
itself, sent as a JSON string (hello). --raw always sends the text; --json-data insists on JSON.
It goes out exactly as the origin frames it: an SSE event, an NDJSON line, a long-poll response and a
WebSocket frame. Envelope: {"id","channel","data","ts"}. Channel names: 1-128 letters, digits, '_', '-',
'.', not starting with '.'.

Every target reaches every current subscriber of every transport. The difference is the history:
  --target origin   the origin stores the message and numbers it (ids increase per channel, across
                    restarts), so a client that reconnects with its last id gets it. Use this for
                    anything a client must not miss.
  local, fastly,    straight to the proxy: live only. The message has no id and is not stored, so a
  --grip-url        client that was disconnected when it was sent never gets it. The items go to each
                    transport's live channel (sse:<channel>, stream:, poll:, ws:), which every
                    subscriber of this origin holds beside the origin's own sequenced channel.

Closing (--close) ends the channel's SSE and NDJSON streams and WebSockets (code 1000) wherever they
are in the sequence; clients may reconnect and resume. Through the origin (POST
/api/channels/<channel>/close) or straight to a proxy: the same items.

Options:
${options}

Targets and environment:
  local     http://127.0.0.1:5561 (the Pushpin of \`npm start\`); the default
  fastly    POST \${FASTLY_API_URL:-https://api.fastly.com}/service/$FASTLY_SERVICE_ID/publish/
            with the header Fastly-Key: $FASTLY_API_TOKEN (a purge_select token limited to the service)
  origin    POST \${ORIGIN_URL:-http://127.0.0.1:3000}/api/publish with Authorization: Bearer
            $PUBLISH_TOKEN (default dev-publish-token); --close POSTs .../api/channels/<channel>/close
  GRIP_URL  used when neither --target nor --grip-url is given (comma or space separated)
Tokens are never printed, also not in errors or --json output.

Bulk input (--file PATH, --file -, or '-' as the message): one message a line, blank lines skipped,
sent in batches of --batch messages per request (each request under the 64 KiB publish limit).
With a channel argument each line is that channel's data; without one each line is an NDJSON item
{"channel":"news","data":{...}} ("id" only with --target origin). Invalid lines are reported by number and skipped; the run
stops at the first request that fails after its retries. On a terminal a progress line is shown;
at the end a summary (sent, failed, msg/s, items/s), or with --json one JSON object on stdout
(use \`npm run --silent publish -- ... --json\` so npm adds nothing to stdout).

Exit codes:
  0  everything was sent
  1  internal error
  2  bad arguments or environment (nothing was sent)
  3  the target could not be reached (refused, DNS, timeout)
  4  the target rejected a request (401/403 token, 413 too large, 5xx after retries, ...)
  5  some input was invalid or over 64 KiB and was skipped (the rest was sent)

Examples (with \`npm start\` running):
  npm run publish -- news '{"text":"hello"}' --target origin
  npm run publish -- news '{"text":"hello"}'
  npm run publish -- news --close                           end every subscriber of news
  printf '%s\\n' one two three | npm run publish -- news - --target origin
  npm run publish -- --file items.ndjson --target origin    lines like {"channel":"news","data":1}
  npm run --silent publish -- news hello --target origin --json
  npm run publish -- news hello --grip-url http://127.0.0.1:5561
  FASTLY_SERVICE_ID=<id> FASTLY_API_TOKEN=<token> npm run publish -- news hello --target fastly
`;
}
