/**
 * References to the directory (a resource, a coworker) as the record services' guards: the row must exist, and the
 * error names the field when it does not. One place for the check every entity that points at them makes.
 */
import type { Reference } from '../records/record-service.js';

export function resourceReference(id: number): Reference {
  return { table: 'resources', id, error: { AttemptedValue: id, Message: `there is no Resource with Id ${id}`, PropertyName: 'ResourceId' } };
}

/** A coworker reference; none (null) for records without one. */
export function coworkerReference(id: number | null): Reference[] {
  return id === null ? [] : [{ table: 'coworkers', id, error: { AttemptedValue: id, Message: `there is no Coworker with Id ${id}`, PropertyName: 'CoworkerId' } }];
}
