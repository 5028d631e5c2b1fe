// The trace header the forward adds, and how a stamp is recognised as our own (mail loops).
import { FORWARD_STAMP_HEADER } from './model.ts';

/** `X-Shadowmail-Forwarded: <stackId>; id=<sesMessageId>; <date>` followed by CRLF. */
export function forwardStampLine(stackId: string, sesMessageId: string, at: Date): string {
  return `${FORWARD_STAMP_HEADER}: ${stackId}; id=${sesMessageId}; ${at.toUTCString()}\r\n`;
}

export function belongsToStack(stampValue: string, stackId: string): boolean {
  const first = stampValue.split(';', 1)[0] ?? '';
  return first.trim().toLowerCase() === stackId.trim().toLowerCase();
}
