// A time someone typed (a CLI flag, a form field): ISO 8601, as `new Date` reads it — a
// date alone is midnight UTC, a date and time without an offset the local time.
import { InvalidInputError } from './errors.ts';

/** The time `value` names; an InvalidInputError naming the field when it names none. */
export function parseTime(value: string | Date, name: string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidInputError(`${name} is not a time (ISO 8601, e.g. 2030-03-01T00:00:00Z)`);
  return date;
}
