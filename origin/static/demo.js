// The demo page: a subscriber made with the project's client (served by the origin at /client.js) and a
// publish form. The client keeps the delivery guarantee (resume, gap rule, silence checks, dedupe,
// fallback); the page only shows what it hands over: messages, resets, its state and its recoveries.
import { createClient } from '/client.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const recovery = $('recovery');
const list = $('messages');
/** The subscription shown now: { client, sub, channel }. */
let current = null;
// The last stored message shown, per channel: connecting again (say with a fresh token, or another
// transport) resumes after it, so nothing is missed and nothing shown twice.
const positions = new Map();
let recoveries = 0;

const TRANSPORT_LABELS = { websocket: 'WebSocket', sse: 'Server-Sent Events', stream: 'NDJSON stream', poll: 'long-poll' };
const label = (transport) => TRANSPORT_LABELS[transport] ?? transport;

/** Why the client connects again, in words (the reason codes are the client's: see client/README.md). */
const RECOVERY_TEXT = {
  gap: 'a message was missed on the way; subscribing again from the last id',
  'pong-behind': 'the connection stopped getting messages; subscribing again from the last id',
  'history-behind': 'the stream went quiet while the channel moved on; reconnecting from the last id',
  silent: 'nothing arrived for a while; reconnecting',
  cut: 'the connection ended; reconnecting',
  busy: 'the origin asked to subscribe again in a moment',
  overflow: 'the WebSocket holds as many channels as allowed; using another one',
  'token-refresh': 'reconnecting with a fresh token',
  'token-refused': 'the token was refused or expired; asking for a fresh one',
  fallback: 'this transport could not connect; falling back',
  upgrade: 'trying the better transport again',
};

const TOKEN_EXPIRED = 'the subscribe token expired: paste a fresh one and connect again (nothing is lost)';
const ERROR_TEXT = {
  forbidden: 'refused: a private channel needs a valid subscribe token',
  token_expired: TOKEN_EXPIRED,
  invalid_token: 'refused: the subscribe token is not valid',
};

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

// A message has an id when the origin stored it (the client resumes after it); one published straight
// to the proxy has none (live only). The client hands each stored message over once, in order.
function show(message) {
  const item = document.createElement('li');
  const name = message.id === undefined ? '(live only)' : `#${message.id}`;
  if (message.id !== undefined) item.dataset.id = message.id;
  item.textContent = `${name} ${new Date(message.ts).toLocaleTimeString()} ${JSON.stringify(message.data)}`;
  list.append(item);
}

/** The history could not continue from our position: say so; everything retained follows. */
function showReset(reset) {
  const item = document.createElement('li');
  item.className = 'reset';
  item.textContent = `history reset (${reset.reason}): messages after ${reset.since} may be missing; showing what is retained after ${reset.after}`;
  list.append(item);
}

function stop() {
  if (!current) return;
  const { client, sub, channel } = current;
  current = null;
  if (sub.position !== undefined) positions.set(channel, sub.position);
  client.close();
}

function connect(channel, transport, token) {
  stop();
  const client = createClient({ transport });
  const since = positions.get(channel);
  const sub = client.subscribe(channel, { ...(since !== undefined ? { since } : {}), ...(token ? { token } : {}) });
  const entry = { client, sub, channel };
  current = entry;
  let failed = false;
  let why = '';
  const mine = (handler) => (payload) => current === entry && handler(payload);
  sub.on('message', mine(show));
  sub.on('reset', mine(showReset));
  sub.on('recovering', mine((r) => {
    recoveries++;
    why = RECOVERY_TEXT[r.reason] ?? r.reason;
    const from = r.position === undefined ? '' : `, resuming after #${r.position}`;
    recovery.textContent = `${recoveries} ${recoveries === 1 ? 'recovery' : 'recoveries'}; last: ${r.reason} (${why}${from})`;
  }));
  sub.on('state', mine(({ state, transport: via }) => {
    if (state === 'open') setStatus(`open (${label(via)}, ${channel})`, 'open');
    else if (state === 'connecting') setStatus(`connecting (${label(via)})...`, 'connecting');
    else if (state === 'reconnecting') setStatus(`reconnecting (${label(via)}): ${why}`, 'reconnecting');
    else if (!failed) setStatus('not connected', 'idle');
  }));
  // The subscription ended for good (a refused or expired token, a bad channel): say why. Connecting
  // again resumes from its position.
  sub.on('error', mine((error) => {
    failed = true;
    if (sub.position !== undefined) positions.set(channel, sub.position);
    setStatus(ERROR_TEXT[error.code] ?? `error (${error.code}): ${error.message}`, 'error');
    $('disconnect').disabled = true;
  }));
}

$('subscribe-form').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('channel').value.trim(), $('transport').value, $('subscribe-token').value.trim());
  $('disconnect').disabled = false;
});

$('disconnect').addEventListener('click', () => {
  stop();
  setStatus('not connected', 'idle');
  $('disconnect').disabled = true;
});

$('publish-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = $('publish-result');
  const response = await fetch('/api/publish', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${$('token').value}` },
    body: JSON.stringify({ channel: $('channel').value.trim(), data: { text: $('text').value } }),
  });
  const body = await response.json().catch(() => ({}));
  result.textContent = response.ok ? `published as #${body.messages[0].id}` : `${response.status}: ${body.message ?? 'failed'}`;
  if (response.ok) $('text').value = '';
});

// The client loaded (a static import: this module runs only once /client.js did).
setStatus('not connected', 'idle');
$('connect').disabled = false;
