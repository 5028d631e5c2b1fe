// Stand-in of html-to-text (and htmlparser2, entities, selderee, … that it loads) in the
// Lambda bundles. mailparser calls htmlToText() only without `skipHtmlToText`, and the
// only MailParser the functions build (lambdas/adapters/mime/mailparser-run.ts,
// PARSER_OPTIONS) sets it: the ingest makes its snippet of an HTML-only message itself.
import { leftOut } from './left-out.ts';

export function htmlToText(): never {
  return leftOut("html-to-text's htmlToText()");
}
