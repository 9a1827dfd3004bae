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
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  let lastId;
  socket.onopen = () => socket.send(JSON.stringify({ type: 'subscribe', channel, ...(lastId ? { since: lastId } : {}) }));
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === 'subscribed') setStatus(`open (WebSocket, ${channel})`, 'open');
    if (frame.type === 'message') {
      lastId = frame.id;
      show(frame);
    }
    if (frame.type === 'error') setStatus(`error: ${frame.message}`, 'error');
  };
  socket.onclose = (event) => setStatus(`closed (${event.code})`, 'error');
  return () => socket.close(1000, 'bye');
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
