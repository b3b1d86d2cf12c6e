/** The Nexudus envelopes: one builder for write answers, one for errors, one for list pages. */
import type { FieldError } from '../../core/errors.js';

export interface WriteEnvelope<V = unknown> {
  Status: number;
  Message: string;
  Value: V;
  OpenInDialog: false;
  OpenInWindow: false;
  RedirectURL: null;
  JavaScript: null;
  UpdatedOn: string | null;
  UpdatedBy: string | null;
  Errors: FieldError[] | null;
  WasSuccessful: boolean;
}

export function writeEnvelope<V>(message: string, value: V, updatedOn: string, updatedBy: string | null): WriteEnvelope<V> {
  return {
    Status: 200,
    Message: message,
    Value: value,
    OpenInDialog: false,
    OpenInWindow: false,
    RedirectURL: null,
    JavaScript: null,
    UpdatedOn: updatedOn,
    UpdatedBy: updatedBy,
    Errors: null,
    WasSuccessful: true,
  };
}

export function errorEnvelope(status: number, message: string, errors: FieldError[] | null): WriteEnvelope<null> {
  return {
    Status: status,
    Message: message,
    Value: null,
    OpenInDialog: false,
    OpenInWindow: false,
    RedirectURL: null,
    JavaScript: null,
    UpdatedOn: null,
    UpdatedBy: null,
    Errors: errors,
    WasSuccessful: false,
  };
}

export interface ListEnvelope<R> {
  Records: R[];
  CurrentPage: number;
  CurrentPageSize: number;
  CurrentOrderField: string;
  CurrentSortDirection: 0 | 1;
  FirstItem: number;
  LastItem: number;
  TotalItems: number;
  TotalPages: number;
  HasNextPage: boolean;
  HasPreviousPage: boolean;
}

export function listEnvelope<R>(
  records: R[],
  page: number,
  size: number,
  orderField: string,
  descending: boolean,
  total: number,
): ListEnvelope<R> {
  const totalPages = Math.ceil(total / size);
  const first = records.length ? (page - 1) * size + 1 : 0;
  return {
    Records: records,
    CurrentPage: page,
    CurrentPageSize: size,
    CurrentOrderField: orderField,
    CurrentSortDirection: descending ? 1 : 0,
    FirstItem: first,
    LastItem: records.length ? first + records.length - 1 : 0,
    TotalItems: total,
    TotalPages: totalPages,
    HasNextPage: page < totalPages,
    HasPreviousPage: page > 1,
  };
}
