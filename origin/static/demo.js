// The demo page's client: a real EventSource or WebSocket subscriber and a publish form, nothing else.
const $ = (id) => document.getElementById(id);
const status = $('status');
const list = $('messages');
let current = null;
const seen = new Set();
// The last stored message shown, per channel: connecting again (say with a fresh token) resumes after it.
const positions = new Map();

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

// A message has an id when the origin stored it (a reconnect resumes after it); one published
// straight to the proxy has none (live only). The server sends each message once; the set only keeps
// a page that resubscribed by hand from showing one twice.
function show(message) {
  if (message.id !== undefined) {
    const key = `${message.channel}/${message.id}`;
    if (seen.has(key)) return;
    seen.add(key);
  }
  const item = document.createElement('li');
  const label = message.id === undefined ? '(live only)' : `#${message.id}`;
  if (message.id !== undefined) {
    item.dataset.id = message.id;
    positions.set(message.channel, message.id);
  }
  item.textContent = `${label} ${new Date(message.ts).toLocaleTimeString()} ${JSON.stringify(message.data)}`;
  list.append(item);
}

/** The history could not continue from our position: say so, everything retained follows. */
function showReset(reset) {
  const item = document.createElement('li');
  item.className = 'reset';
  item.textContent = `history reset (${reset.reason}): messages after ${reset.since} may be missing; showing what is retained`;
  list.append(item);
}

const TOKEN_EXPIRED = 'the subscribe token expired: paste a fresh one and connect again (nothing is lost)';

function connectSse(channel, token) {
  // EventSource cannot set headers, so the token goes in the query (the edge moves it into a header).
  const query = new URLSearchParams();
  if (token) query.set('token', token);
  if (positions.has(channel)) query.set('lastEventId', positions.get(channel));
  const source = new EventSource(`/events/${encodeURIComponent(channel)}${query.size ? `?${query}` : ''}`);
  let expired = false;
  source.onopen = () => setStatus(`open (SSE, ${channel})`, 'open');
  source.onerror = () => {
    // A refused reconnect (an expired or wrong token) closes the EventSource for good.
    if (expired || source.readyState === EventSource.CLOSED) {
      source.close();
      setStatus(expired ? TOKEN_EXPIRED : 'refused: a private channel needs a valid subscribe token', 'error');
    } else setStatus('reconnecting (SSE resumes from the last id)...', 'error');
  };
  source.onmessage = (event) => show(JSON.parse(event.data));
  source.addEventListener('reset', (event) => showReset(JSON.parse(event.data)));
  source.addEventListener('token-expired', () => {
    expired = true;
    source.close();
    setStatus(TOKEN_EXPIRED, 'error');
  });
  return () => source.close();
}

function connectWs(channel, token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let lastId = positions.get(channel); // our position: a reconnect asks for everything after it
  let socket;
  let stopped = false;
  const subscribe = () =>
    socket.send(JSON.stringify({ type: 'subscribe', channel, ...(lastId ? { since: lastId } : {}), ...(token ? { token } : {}) }));
  const open = () => {
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = subscribe;
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'subscribed') {
        // Every message after frame.lastId follows, once and in order: replayed, then live.
        setStatus(`open (WebSocket, ${channel})`, 'open');
        if (frame.reset) showReset(frame.reset);
        lastId = frame.lastId;
      }
      if (frame.type === 'message') {
        // `prev` names the position before the message: another one than ours means something was
        // dropped on the way (the proxy drops what a connection that fell behind cannot take), so
        // subscribe again from our last id, on a new connection.
        if (frame.prev !== undefined && lastId !== undefined && frame.prev !== lastId && BigInt(frame.id) > BigInt(lastId)) {
          setStatus('a message was missed; subscribing again from the last id...', 'error');
          socket.close(4000, 'missed a message');
          return;
        }
        show(frame);
        if (frame.id !== undefined) lastId = frame.id;
      }
      if (frame.type === 'error') {
        setStatus(frame.code === 'token_expired' ? TOKEN_EXPIRED : `error: ${frame.message}`, 'error');
        // The subscribe did not complete (it timed out, or the history moved on): try again from our position.
        if (frame.code === 'subscribe_failed' || frame.code === 'subscribe_busy') setTimeout(() => !stopped && subscribe(), 1000);
      }
    };
    socket.onclose = (event) => {
      if (stopped) return;
      // 4001: the token expired; the same token would be refused, so wait for a fresh one.
      if (event.code === 4001) return setStatus(TOKEN_EXPIRED, 'error');
      setStatus(`closed (${event.code}); reconnecting...`, 'error');
      setTimeout(() => !stopped && open(), 1000);
    };
  };
  open();
  return () => {
    stopped = true;
    socket.close(1000, 'bye');
  };
}

$('subscribe-form').addEventListener('submit', (event) => {
  event.preventDefault();
  current?.();
  const channel = $('channel').value.trim();
  setStatus('connecting...', 'idle');
  const token = $('subscribe-token').value.trim();
  current = $('transport').value === 'ws' ? connectWs(channel, token) : connectSse(channel, token);
  $('disconnect').disabled = false;
});

$('disconnect').addEventListener('click', () => {
  current?.();
  current = null;
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
