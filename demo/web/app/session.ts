/**
 * The page's sign-in: a bearer token from the backend's `POST /auth/token`,
 * exchanged for the credential the demo server hands out. Kept in memory
 * only; the engine calls `getToken` before each request and `refreshToken`
 * on a 401 or shortly before the token expires.
 */
export class Session {
  #token: string | null = null;

  constructor(private readonly credential: string) {}

  /** The current token (null before the first sign-in). */
  readonly getToken = (): string | null => this.#token;

  /** A fresh token; rejects when the server refuses (the engine then waits for a new sign-in). */
  readonly refreshToken = async (): Promise<string> => {
    const res = await fetch('/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshCredential: this.credential }),
    });
    if (!res.ok) throw new Error(`sign-in refused (${res.status})`);
    const body = (await res.json()) as { data: { token: string } };
    this.#token = body.data.token;
    return this.#token;
  };

  /** Sign in, trying again every `everyMs` while the server cannot be reached or refuses. */
  async signIn(everyMs = 1000): Promise<void> {
    for (;;) {
      try {
        await this.refreshToken();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, everyMs));
      }
    }
  }
}
