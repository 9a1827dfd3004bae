import { startRecordingBackend } from './test/harness/recordingBackend.ts';
import { startTestStack } from './test/harness/testStack.ts';
const rec = await startRecordingBackend();
const stack = await startTestStack({ edge: true, backends: { recorder: rec.url }, edgeSettings: { pop_backends: '{"default":"recorder"}' } });
try {
  const r = await fetch(`${stack.urls.edge}/stream/x`, { headers: { 'Meta-User': 'admin', 'Connection-Id': 'forged', 'Grip-Last': 'a; last-id=1', 'X-Kept': 'y' } });
  console.log(r.status, await r.text());
  console.log(JSON.stringify(rec.requests.at(-1)?.headers));
  const r2 = await fetch(`${stack.urls.edge}/plain`, { headers: { 'Meta-User': 'admin', 'Connection-Id': 'forged' } });
  console.log(r2.status, await r2.text(), JSON.stringify(rec.requests.at(-1)?.headers));
  console.log(JSON.stringify(stack.logFiles));
} finally { await stack.stop(); await rec.stop(); }
