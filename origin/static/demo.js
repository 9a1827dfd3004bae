// The demo page's client: a real EventSource or WebSocket subscriber and a publish form, nothing else.
const $ = (id) => document.getElementById(id);
const status = $('status');
const list = $('messages');
let current = null;
const seen = new Set();

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

function show(message) {
  const key = `${message.channel}/${message.id}`;
  if (seen.has(key)) return;
  seen.add(key);
  const item = document.createElement('li');
  item.dataset.id = message.id;
  item.textContent = `#${message.id} ${new Date(message.ts).toLocaleTimeString()} ${JSON.stringify(message.data)}`;
  list.append(item);
}

function connectSse(channel) {
  const source = new EventSource(`/events/${encodeURIComponent(channel)}`);
  source.onopen = () => setStatus(`open (SSE, ${channel})`, 'open');
  source.onerror = () => setStatus('reconnecting (SSE resumes from the last id)...', 'error');
  source.onmessage = (event) => show(JSON.parse(event.data));
  return () => source.close();
}

function connectWs(channel) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let lastId; // the newest id shown: a reconnect or a gap asks for everything after it
  let socket;
  let stopped = false;
  const subscribe = () => socket.send(JSON.stringify({ type: 'subscribe', channel, ...(lastId ? { since: lastId } : {}) }));
  const open = () => {
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = subscribe;
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === 'subscribed') {
        setStatus(`open (WebSocket, ${channel})`, 'open');
        lastId ??= frame.lastId;
      }
      if (frame.type === 'message') {
        // Ids count up by one per channel: a jump means a message was missed (the proxy applies a new
        // subscription a moment late), so subscribe again from the last id; duplicates are dropped by id.
        if (lastId !== undefined && BigInt(frame.id) > BigInt(lastId) + 1n) subscribe();
        show(frame);
        if (lastId === undefined || BigInt(frame.id) > BigInt(lastId)) lastId = frame.id;
      }
      if (frame.type === 'error') setStatus(`error: ${frame.message}`, 'error');
    };
    socket.onclose = (event) => {
      if (stopped) return;
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
  current = $('transport').value === 'ws' ? connectWs(channel) : connectSse(channel);
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
