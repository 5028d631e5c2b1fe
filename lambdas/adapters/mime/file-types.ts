// The media type of a file by its name's extension (nodemailer's table), for files
// whose type nobody declared: a browser's POST to S3 stores no type of its own.
import { detectMimeType } from 'nodemailer/lib/mime-funcs/mime-types';

export function contentTypeOf(filename: string): string {
  return detectMimeType(filename) || 'application/octet-stream';
}
