// Stand-in of the tlds package (the TLD list mailparser hands to linkify-it) in the Lambda
// bundles: linkify-it is left out too (linkify-it.ts), so the list has no reader.
const tlds: string[] = [];
export default tlds;
