// Every option the publish CLI accepts, in one table: the parser reads it and --help prints it, so the
// two cannot drift apart.
export type OptionKind = 'flag' | 'value' | 'list';

export interface OptionSpec {
  /** Long name without the dashes; also the key in the parsed result. */
  name: string;
  short?: string;
  kind: OptionKind;
  /** Placeholder shown in --help for value options. */
  value?: string;
  description: string;
}

export const OPTION_SPECS: readonly OptionSpec[] = [
  {
    name: 'target',
    short: 't',
    kind: 'value',
    value: 'local|fastly|origin',
    description:
      'where to publish (default local): local = Pushpin at http://127.0.0.1:5561; fastly = the Fastly publish API ' +
      '(FASTLY_SERVICE_ID, FASTLY_API_TOKEN); both reach every subscriber live. origin = the origin POST ' +
      '/api/publish (ORIGIN_URL, PUBLISH_TOKEN), which also stores the message, so reconnecting clients get it',
  },
  {
    name: 'grip-url',
    short: 'g',
    kind: 'list',
    value: 'URL',
    description:
      'publish to this GRIP control URL instead (repeat for several, e.g. several Pushpins); key=/iss= in the ' +
      'query authenticate. Also read from GRIP_URL (comma or space separated) when no --target is given',
  },
  {
    name: 'id',
    kind: 'value',
    value: 'ID',
    description:
      'with --target origin: request this id (decimal; above the channel\'s last id), so a retry of the same id and ' +
      'data is recognised and not stored twice. Straight to a proxy a message has no id (it is not in the history)',
  },
  {
    name: 'close',
    kind: 'flag',
    description:
      'end every SSE and NDJSON stream and WebSocket on the channel (no message), whatever their position; ' +
      'with --target origin through POST /api/channels/<channel>/close',
  },
  { name: 'raw', kind: 'flag', description: 'send the message (or each line) as a JSON string, even if it parses as JSON' },
  { name: 'json-data', kind: 'flag', description: 'the message (or each line) must be valid JSON; fail otherwise' },
  {
    name: 'file',
    short: 'f',
    kind: 'value',
    value: 'PATH',
    description:
      "bulk: read one message a line from PATH ('-' = standard input). With a channel argument each line is the " +
      'data for that channel; without one each line is an item {"channel","data","id"?}',
  },
  { name: 'json', kind: 'flag', description: 'print one JSON result object on stdout (for scripts) instead of text' },
  { name: 'batch', kind: 'value', value: 'N', description: 'messages per publish request (default 50; each is 4 GRIP items)' },
  {
    name: 'concurrency',
    kind: 'value',
    value: 'N',
    description: 'requests in flight (default 1, which keeps message order; more is faster but may reorder)',
  },
  { name: 'timeout', kind: 'value', value: 'MS', description: 'per-request timeout in milliseconds (default 10000)' },
  {
    name: 'retries',
    kind: 'value',
    value: 'N',
    description: 'extra attempts for a request after a network error, 408, 429 or 5xx (default 3)',
  },
  { name: 'help', short: 'h', kind: 'flag', description: 'show this help' },
];
