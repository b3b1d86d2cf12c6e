/** UniqueIds are UUID version 7: time-ordered, so creates add to the end of the unique index, and still random. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newUniqueId } from '../../src/core/unique-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.replace('-', '').slice(0, 12), 16);

test('a UniqueId is an RFC 9562 version 7 UUID carrying the given time', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
    const id = newUniqueId(ms);
    assert.match(id, V7);
    assert.equal(timeOf(id), ms);
  }));
});

test('ids made at later milliseconds sort after earlier ones, as text; ids of one millisecond differ', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 40 }), (a, gap) => {
    assert.ok(newUniqueId(a) < newUniqueId(a + gap));
  }));
  const now = Date.parse('2026-11-30T10:00:00Z');
  const ids = new Set(Array.from({ length: 10_000 }, () => newUniqueId(now)));
  assert.equal(ids.size, 10_000);
});

test('a time that is not a number is refused, not written into an id', () => {
  for (const bad of [NaN, Infinity, -Infinity, Date.parse('not a date')]) assert.throws(() => newUniqueId(bad), RangeError);
});
