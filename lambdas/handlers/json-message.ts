// A queue message's body as the handlers read it: JSON, then the schema. Either failure is
// an InvalidInputError naming what the message should have been (a poison message, kept
// for the dead-letter queue rather than retried as if the next try could differ).
import type * as zc from 'zod/v4/core';
import { InvalidInputError } from '../core/errors.ts';
import * as z from './zod-mini.ts';

export function parseJsonMessage<Schema extends zc.$ZodType>(body: string, schema: Schema, what: string): zc.output<Schema> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidInputError(`${what} is not JSON`, { cause: error });
  }
  const parsed = z.safeParse(schema, json);
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
