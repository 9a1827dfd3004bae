// Preloaded into the origin that `npm run serve` starts (node --import): stops it when the process that
// started it is gone, however that went (SIGKILL included), so no origin outlives `npm run serve`.
// The parent's death re-parents us (to init or a subreaper), which changes process.ppid.
const parent = process.ppid;

const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  // The origin's own SIGTERM handler closes the server and exits.
  process.kill(process.pid, 'SIGTERM');
}, 500);
watch.unref();
