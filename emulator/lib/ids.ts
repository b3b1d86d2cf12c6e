import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const guid = (): string => randomUUID();

export const b64url = (buf: Buffer): string => buf.toString('base64url');

/** Outlook-looking item id: long, case-sensitive, base64url alphabet, ending in '='. */
export function outlookId(prefix = 'AAMkAG'): string {
  return `${prefix}${b64url(randomBytes(36))}AAA=`;
}

/** Changes on every modification of an item, as Outlook's changeKey does. */
export function newChangeKey(): string {
  return randomBytes(12).toString('base64').replace(/=+$/, '') + 'AAA==';
}

export function randomToken(bytes = 32): string {
  return b64url(randomBytes(bytes));
}

const OCC_PREFIX = 'AAMkOcc';

/** Occurrence ids encode the series master id and the occurrence's original start. */
export function occurrenceId(masterId: string, originalStartMs: number): string {
  return OCC_PREFIX + b64url(Buffer.from(`${masterId}|${originalStartMs}`, 'utf8'));
}

export function parseOccurrenceId(id: string): { masterId: string; originalStartMs: number } | null {
  if (!id.startsWith(OCC_PREFIX)) return null;
  let text: string;
  try {
    text = Buffer.from(id.slice(OCC_PREFIX.length), 'base64url').toString('utf8');
  } catch {
    return null;
  }
  const bar = text.lastIndexOf('|');
  if (bar < 0) return null;
  const ms = Number(text.slice(bar + 1));
  if (!Number.isFinite(ms)) return null;
  return { masterId: text.slice(0, bar), originalStartMs: ms };
}

/** iCalUId: unique per series; occurrences get their own (Graph: "different for each occurrence"). */
export function iCalUid(): string {
  return '040000008200E00074C5B7101A82E008' + randomBytes(28).toString('hex').toUpperCase();
}

export function occurrenceICalUid(masterUid: string, originalStartMs: number): string {
  return masterUid.slice(0, 32) + createHash('sha256').update(`${masterUid}|${originalStartMs}`).digest('hex').slice(0, 56).toUpperCase();
}
