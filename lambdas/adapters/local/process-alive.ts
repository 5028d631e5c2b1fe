// Whether a process id names a live process: the local adapters and the data directory
// lock tell a crashed owner (its lease or lock may be taken over) from a running one.

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
