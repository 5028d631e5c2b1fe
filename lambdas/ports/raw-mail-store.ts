// Port: where the raw bytes of each received message live (S3 in AWS, files locally).
import type { Readable } from 'node:stream';
import type { RawLocation } from '../core/model.ts';

export interface RawMailStore {
  /** Streams the stored bytes unchanged. Throws RawMessageMissingError if absent. */
  open(location: RawLocation): Promise<Readable>;
  /** Size in bytes. Throws RawMessageMissingError if absent. */
  size(location: RawLocation): Promise<number>;
}

/** Stores raw mail: SES does this in AWS; the local SMTP listener does it locally. */
export interface RawMailWriter {
  put(location: RawLocation, body: Readable | Buffer): Promise<void>;
}
