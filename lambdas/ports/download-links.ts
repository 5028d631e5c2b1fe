// Port: a short-lived link from which the browser downloads one extracted
// attachment directly, because a Lambda response cannot carry more than 6 MB.
import type { Readable } from 'node:stream';

export interface DownloadLinks {
  /**
   * Stores `content` under `key` and returns a URL that serves it for a few minutes
   * as an attachment named `filename` of type `contentType`. Null means there is no
   * such store (local mode): the caller streams `content` itself, which is then
   * still unread.
   */
  link(params: { key: string; filename: string; contentType: string; content: Readable }): Promise<URL | null>;
  /**
   * The origin the links point to, for a CSP that must let a page load them (the
   * message frame's inline images); absent when link() never answers a URL.
   */
  origin?(): Promise<string>;
}
