/** Schemas of the envelopes and the list query, shared by every entity's routes and the OpenAPI document. */
import { Type, type TSchema } from 'typebox';

const FieldErrorSchema = Type.Object({
  AttemptedValue: Type.Unknown(),
  Message: Type.String(),
  PropertyName: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
});

const envelopeProperties = (value: TSchema, errors: TSchema) => ({
  Status: Type.Integer(),
  Message: Type.String(),
  Value: value,
  OpenInDialog: Type.Boolean(),
  OpenInWindow: Type.Boolean(),
  RedirectURL: Type.Null(),
  JavaScript: Type.Null(),
  UpdatedOn: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  UpdatedBy: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  Errors: errors,
  WasSuccessful: Type.Boolean(),
});

export function writeEnvelopeSchema(value: TSchema) {
  return Type.Object(envelopeProperties(value, Type.Null()), { description: 'Success: Errors is null.' });
}

export const ErrorEnvelopeSchema = Type.Object(
  envelopeProperties(Type.Null(), Type.Union([Type.Array(FieldErrorSchema), Type.Null()])),
  { description: 'Failure: WasSuccessful false; Errors lists failing properties on 400, else null.' },
);

export const errorResponses = {
  400: ErrorEnvelopeSchema,
  401: ErrorEnvelopeSchema,
  403: ErrorEnvelopeSchema,
  404: ErrorEnvelopeSchema,
  409: ErrorEnvelopeSchema,
  415: ErrorEnvelopeSchema,
};

export function listEnvelopeSchema(record: TSchema) {
  return Type.Object({
    Records: Type.Array(record),
    CurrentPage: Type.Integer(),
    CurrentPageSize: Type.Integer(),
    CurrentOrderField: Type.String(),
    CurrentSortDirection: Type.Integer({ description: '0 ascending, 1 descending' }),
    FirstItem: Type.Integer(),
    LastItem: Type.Integer(),
    TotalItems: Type.Integer(),
    TotalPages: Type.Integer(),
    HasNextPage: Type.Boolean(),
    HasPreviousPage: Type.Boolean(),
  });
}

/** Documented parameters; the entity's filters are listed in each route's description (names are case-insensitive). */
// A repeated parameter arrives as an array; the parser takes the last one, so the schema lets both through.
const QueryValue = (description: string) => Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], { description }));

export const ListQuerySchema = Type.Object({
  page: QueryValue('Page number, from 1 (default 1).'),
  size: QueryValue('Records per page (default 25, at most 1000).'),
  orderBy: QueryValue('Any record field (default Id); ties by Id ascending.'),
  dir: QueryValue('0/asc/ascending or 1/-1/desc/descending.'),
  id: QueryValue('Batch: [1,2,3] answers a bare array of those records; a single number filters by Id.'),
}, { additionalProperties: true });
