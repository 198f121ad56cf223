/** What `readBodyCapped` read: the text, or that the body is longer than allowed. */
export type CappedBody = { readonly overLimit: false; readonly text: string } | { readonly overLimit: true };

/** The parts of a fetch `Response` the reader uses (WHATWG stream, or node-fetch's Node stream). */
export interface BodySource {
  readonly headers: { get(name: string): string | null };
  readonly body?: unknown;
  text(): Promise<string>;
}

interface WhatwgReader {
  read(): Promise<{ done: boolean; value?: unknown }>;
  cancel(): Promise<void>;
}

const hasReader = (b: unknown): b is { getReader(): WhatwgReader } =>
  typeof b === 'object' && b !== null && typeof (b as { getReader?: unknown }).getReader === 'function';

const isAsyncIterable = (b: unknown): b is AsyncIterable<unknown> =>
  typeof b === 'object' && b !== null && typeof (b as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';

const OVER: CappedBody = { overLimit: true };

/** Decodes UTF-8 chunk by chunk and stops counting past `maxBytes`. */
class CappedText {
  readonly #decoder = new TextDecoder();
  readonly #parts: string[] = [];
  #bytes = 0;
  constructor(readonly maxBytes: number) {}

  /** False once the body is past the cap (the chunk is not kept). */
  add(chunk: unknown): boolean {
    // isView, not instanceof: chunks may come from another realm (Node streams under a test VM).
    if (!ArrayBuffer.isView(chunk)) throw new TypeError('response body chunk is not bytes');
    this.#bytes += chunk.byteLength;
    if (this.#bytes > this.maxBytes) return false;
    this.#parts.push(this.#decoder.decode(chunk, { stream: true }));
    return true;
  }

  done(): CappedBody {
    this.#parts.push(this.#decoder.decode());
    return { overLimit: false, text: this.#parts.join('') };
  }
}

/**
 * Read a response body as UTF-8 text, holding at most `maxBytes` of it: a
 * `Content-Length` above the cap is refused before reading, and a streamed
 * body is cancelled as soon as it passes the cap (the caller then aborts
 * the request). Memory stays within the cap plus one network chunk, whatever
 * the server sends. Reads WHATWG streams (`getReader`) and Node streams
 * (node-fetch, async iterable); a response with neither falls back to
 * `text()` and is checked after the fact (a custom `fetch` only).
 *
 * @example
 * const body = await readBodyCapped(res, 1_048_576);
 * if (body.overLimit) controller.abort(); else use(body.text);
 */
export async function readBodyCapped(res: BodySource, maxBytes: number): Promise<CappedBody> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  const body = res.body;
  if (Number.isFinite(declared) && declared > maxBytes) {
    if (hasReader(body)) void body.getReader().cancel().catch(() => undefined);
    return OVER;
  }
  if (body === null) return { overLimit: false, text: '' };
  const text = new CappedText(maxBytes);
  if (hasReader(body)) {
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text.done();
      if (!text.add(value)) {
        void reader.cancel().catch(() => undefined);
        return OVER;
      }
    }
  }
  if (isAsyncIterable(body)) {
    // Leaving the loop early (return) destroys the Node stream.
    for await (const chunk of body) {
      if (!text.add(chunk)) return OVER;
    }
    return text.done();
  }
  const whole = await res.text();
  return new TextEncoder().encode(whole).byteLength > maxBytes ? OVER : { overLimit: false, text: whole };
}
