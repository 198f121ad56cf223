/** An answer as stored for an idempotency key and replayed byte for byte. */
export interface StoredAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** An answer the reference backend decided on: a status and a JSON body. */
export class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  /** The answer as the idempotency layer stores it. */
  toStored(): StoredAnswer {
    return { status: this.status, body: JSON.stringify(this.body), headers: { ...this.headers } };
  }
}

/** The error envelope of `docs/api_envelope.md`: `{ error: { code, message, details? } }`. */
export const errorAnswer = (
  status: number,
  code: string,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): HttpAnswer => new HttpAnswer(status, { error: details === undefined ? { code, message } : { code, message, details } }, headers);
