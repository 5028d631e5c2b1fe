// Stand-in of linkify-it in the Lambda bundles. mailparser configures one linkify-it
// instance when it is imported (the whole TLD list compiled into its regexes, ~12 CPU ms
// of every cold start) and matches with it only in textToHtml() without
// `skipTextToHtml`/`skipTextLinks`, which PARSER_OPTIONS (lambdas/adapters/mime/
// mailparser-run.ts) sets. The configuring calls are accepted and do nothing; matching fails.
import { leftOut } from './left-out.ts';

interface LinkifyStandIn {
  tlds(...args: unknown[]): LinkifyStandIn;
  add(...args: unknown[]): LinkifyStandIn;
  set(...args: unknown[]): LinkifyStandIn;
  test(): never;
  pretest(): never;
  match(): never;
  matchAtStart(): never;
}

export default function linkifyIt(): LinkifyStandIn {
  const never = (): never => leftOut("linkify-it's matching");
  const instance: LinkifyStandIn = {
    tlds: () => instance,
    add: () => instance,
    set: () => instance,
    test: never,
    pretest: never,
    match: never,
    matchAtStart: never,
  };
  return instance;
}
