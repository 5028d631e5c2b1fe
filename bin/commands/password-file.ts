// A password the CLI reads from a file, never from its arguments (other users see those
// in `ps`): a file others may read is warned about, a missing or empty one is one line.
import { readFile, stat } from 'node:fs/promises';
import { ShadowmailError } from '../../lambdas/core/errors.ts';

/** The file's content without the line end editors and `echo` add; `what` names it in messages ("the IMAP password file"). */
export async function readPasswordFile(file: string, what: string, err: NodeJS.WritableStream): Promise<string> {
  let text: string;
  try {
    const info = await stat(file);
    if ((info.mode & 0o077) !== 0) err.write(`warning: ${file} can be read by other users (chmod 600 it)\n`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ShadowmailError('PASSWORD_FILE', `cannot read ${what} ${file}: ${(error as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new ShadowmailError('PASSWORD_FILE', `${what} ${file} is empty`);
  return password;
}
