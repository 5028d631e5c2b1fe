// Child process for the local store's open-beside-a-writer test: opens the store file as
// the running stack does, says "ready", then appends audit events as fast as it can
// (yielding between them, as a process doing I/O would) until stdin closes.
//   local-store-writer-child.ts <file>
import { recordAudit } from '../../lambdas/core/audit.ts';
import { systemClock } from '../../lambdas/ports/clock.ts';
import { openLocalStore } from '../../lambdas/wiring/local-store.ts';

const [file] = process.argv.slice(2);
if (!file) throw new Error('usage: local-store-writer-child.ts <file>');
const store = openLocalStore(file);
let open = true;
process.stdin.on('close', () => {
  open = false;
});
process.stdin.resume();
process.stdout.write('ready\n');
let written = 0;
while (open) {
  await recordAudit(store.audit, systemClock, { actor: 'system', action: 'failover.on', details: { n: written } });
  written += 1;
  await new Promise((resolve) => setImmediate(resolve));
}
store.close();
process.stdout.write(`${JSON.stringify({ written })}\n`);
