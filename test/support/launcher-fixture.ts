// Built by the start-local launcher in its test: a stack trace out of the bundle must name this file.
export function failHere(): never {
  throw new Error('from the fixture');
}
