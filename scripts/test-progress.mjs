// The progress reporter of scripts/test.mjs (node --test --test-reporter=<this file>): a dot per passed test,
// "-" per skipped one, "X" per failed one, 100 to a line with the running count. A file that failed outside its
// tests (it did not load, or its process died) gets the end of what it wrote to stderr. The details of failed tests
// come from the TAP log that scripts/test.mjs has the same run write.
import path from 'node:path';

const WIDTH = 100;
const STDERR_LINES = 60;

export default async function* progress(source) {
  const stderr = new Map();
  let count = 0;
  const mark = (c) => (++count % WIDTH === 0 ? `${c}  ${count}\n` : c);
  for await (const { type, data } of source) {
    const isFile = data?.file && data.nesting === 0 && data.name === data.file;
    if (type === 'test:stderr' && data.file) {
      const lines = stderr.get(data.file) ?? [];
      lines.push(...String(data.message).split('\n').filter(Boolean));
      stderr.set(data.file, lines.slice(-STDERR_LINES));
    } else if (type === 'test:fail' && isFile) {
      // Failed tests inside the file are reported on their own; this is the file itself.
      if (data.details?.error?.failureType === 'subtestsFailed') continue;
      const error = data.details?.error ?? {};
      const why = [error.cause, error.exitCode != null && `exit code ${error.exitCode}`, error.signal && `signal ${error.signal}`].filter(Boolean).join(', ');
      const tail = (stderr.get(data.file) ?? ['(nothing)']).map((l) => `  | ${l}\n`).join('');
      yield `${mark('X')}\n${path.relative(process.cwd(), data.file)} failed outside its tests (${why || 'no reason given'}); the end of its stderr:\n${tail}`;
    } else if ((type === 'test:pass' || type === 'test:fail') && !isFile && data.details?.type !== 'suite') {
      yield mark(type === 'test:fail' ? 'X' : data.skip !== undefined || data.todo !== undefined ? '-' : '.');
    }
  }
  if (count % WIDTH) yield `${' '.repeat(WIDTH - (count % WIDTH))}  ${count}\n`;
}
