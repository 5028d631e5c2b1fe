// Port: turns a raw message stream into the summary the index needs, with bounded memory.
import type { Readable } from 'node:stream';
import type { MessageSummary } from '../core/model.ts';

export interface MimeParser {
  /**
   * Reads the whole stream; attachments are measured, never buffered.
   * Throws MimeParseError when nothing usable can be made of the input.
   */
  summarize(raw: Readable): Promise<MessageSummary>;
}
