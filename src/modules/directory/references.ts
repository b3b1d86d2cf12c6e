/**
 * References to the directory (a resource, a coworker) as the record services' guards: the row must exist, and the
 * error names the field when it does not. One place for the check every entity that points at them makes.
 */
import type { FieldError } from '../../core/errors.js';
import type { ReferenceGuard } from '../records/record-repository.js';

export type Reference = ReferenceGuard & { error: FieldError };

export function resourceReference(id: number, field = 'ResourceId'): Reference {
  return { table: 'resources', id, error: { AttemptedValue: id, Message: `there is no Resource with Id ${id}`, PropertyName: field } };
}

/** A coworker reference; none (null) for records without one. */
export function coworkerReference(id: number | null, field = 'CoworkerId'): Reference[] {
  return id === null ? [] : [{ table: 'coworkers', id, error: { AttemptedValue: id, Message: `there is no Coworker with Id ${id}`, PropertyName: field } }];
}
