// Set-up of the unit tier: a unit test starts no server and no child process. The static
// check (test/unit/test-tiers.test.ts) sees imports; this sees what a test really does, and
// fails it with the way out instead of letting the fast loop grow slow again.
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

function refuse(what: string): never {
  throw new Error(`a unit test may not ${what}: move the test to test/integration or test/system (test/support/test-tiers.ts)`);
}

net.Server.prototype.listen = () => refuse('listen on a port');
dgram.Socket.prototype.bind = () => refuse('bind a socket');
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  Object.assign(childProcess, { [name]: () => refuse(`start a child process (${name})`) });
}
// Named imports of node:child_process (`import { spawn } …`) see the replacements too.
syncBuiltinESMExports();
