import * as t from 'io-ts';

interface HttpStatusBrand {
  readonly HttpStatus: unique symbol;
}

/** An HTTP status code: a whole number 100–599. */
const HttpStatus = t.brand(t.Int, (n): n is t.Branded<t.Int, HttpStatusBrand> => n >= 100 && n <= 599, 'HttpStatus');

/** One entry of a batch answer: `{ status, data | error, retryAfter? }`. */
const BatchResultEntry = t.intersection([
  t.type({ status: HttpStatus }),
  t.partial({ data: t.unknown, error: t.unknown, retryAfter: t.union([t.number, t.string]) }),
]);

/**
 * The io-ts codec of a 2xx batch answer's body: `{ results: [{ status,
 * data | error, retryAfter? }] }` (`docs/api_envelope.md`, "Batch"). An entry
 * without a whole-number status in 100–599 fails it; so does a body without
 * a `results` array.
 *
 * @example
 * isRight(BatchResponseCodec.decode({ results: [{ status: 201, data: { id: '1' } }] })); // true
 * isRight(BatchResponseCodec.decode({ results: [{ data: {} }] }));                      // false: no status
 */
export const BatchResponseCodec = t.type({ results: t.array(BatchResultEntry) }, 'BatchResponse');

/** A decoded batch answer. */
export type BatchResponseBody = t.TypeOf<typeof BatchResponseCodec>;
