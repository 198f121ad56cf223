/**
 * `Retry-After` parsing per RFC 9110 §10.2.3 (see `docs/backoff_policy.md`).
 *
 * The header is matched against the grammar by hand and never handed to
 * `Date.parse`, which reads `"120"` as the year 120 and accepts dozens of
 * non-HTTP formats in engine-specific ways.
 */

const DELAY_SECONDS = /^\d+$/;

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const DAY_NAMES_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const DAY = DAY_NAMES.join('|');
const DAY_LONG = DAY_NAMES_LONG.join('|');
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^(?:${DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
// obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const RFC850_DATE = new RegExp(`^(?:${DAY_LONG}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
// obsolete asctime: Sun Nov  6 08:49:37 1994 (day is two digits or space + digit)
const ASCTIME_DATE = new RegExp(`^(?:${DAY}) (${MONTH}) (\\d{2}| \\d) ${TIME} (\\d{4})$`);

const MS_PER_SECOND = 1000;

function toEpochMs(year: number, month: string, day: number, h: number, m: number, s: number): number | undefined {
  const monthIndex = (MONTHS as readonly string[]).indexOf(month);
  // second = 60 is a leap second in the grammar; hour/minute/day are checked.
  if (monthIndex < 0 || day < 1 || h > 23 || m > 59 || s > 60) return undefined;
  // Validate the calendar date with second 0: Date.UTC rolls "31 Feb" over
  // into March, and a leap second (:60) may legitimately roll over the day.
  const startOfMinute = Date.UTC(year, monthIndex, day, h, m, 0);
  if (new Date(startOfMinute).getUTCDate() !== day) return undefined;
  return startOfMinute + s * MS_PER_SECOND;
}

/**
 * Parse one HTTP-date (IMF-fixdate, RFC 850 or asctime) to epoch ms, or
 * `undefined` when it is not exactly one of the three formats. A two-digit
 * RFC 850 year more than 50 years after `now` is read as the most recent
 * past year with those digits (RFC 9110 §5.6.7).
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', 0); // 784111777000
 * parseHttpDate('1994-11-06T08:49:37Z', 0); // undefined (not an HTTP-date)
 */
export function parseHttpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) {
    const year = Number(m[3]);
    if (year < 1000) return undefined;
    return toEpochMs(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = RFC850_DATE.exec(value);
  if (m) {
    const yy = Number(m[3]);
    const currentYear = new Date(Number.isFinite(now) ? now : 0).getUTCFullYear();
    let year = Math.floor(currentYear / 100) * 100 + yy;
    if (year > currentYear + 50) year -= 100;
    return toEpochMs(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(value);
  if (m) {
    const year = Number(m[6]);
    if (year < 1000) return undefined;
    return toEpochMs(year, m[1], Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  }
  return undefined;
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds, or `undefined`
 * when the header is absent or not valid (the caller then uses plain
 * backoff).
 *
 * Rules (RFC 9110 §10.2.3, decided in `docs/backoff_policy.md`):
 * - `^\d+$` is delay-seconds (`"120"` → 120 000). It is tried first.
 * - Otherwise exactly one HTTP-date in one of the three formats, in GMT.
 *   The delay is measured against the response's `Date` header when that is
 *   a valid HTTP-date (so a skewed device clock does not matter), else
 *   against `now`. A date in the past means 0.
 * - Anything else is ignored: negative or fractional numbers, ISO dates,
 *   several values (`"120, 60"`), empty strings.
 *
 * The result is not clamped: `retryDelay` applies `maxRetryAfterMs`.
 * Huge delay-seconds saturate at `Number.MAX_SAFE_INTEGER`.
 *
 * @param value the raw `Retry-After` header value (`headers.get(...)`)
 * @param now the current time, epoch ms (injected; never read from a clock)
 * @param dateHeader the raw `Date` header of the same response, if any
 * @example
 * parseRetryAfter('120', now); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now, 'Wed, 21 Oct 2015 07:27:00 GMT'); // 60000
 * parseRetryAfter('-1', now); // undefined
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number,
  dateHeader?: string | null,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  // Fields arrive with optional whitespace (SP / HTAB) around them.
  const v = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (v.length === 0) return undefined;

  if (DELAY_SECONDS.test(v)) {
    const seconds = Number(v);
    return Math.min(seconds * MS_PER_SECOND, Number.MAX_SAFE_INTEGER);
  }

  const at = parseHttpDate(v, now);
  if (at === undefined) return undefined;
  const serverNow = typeof dateHeader === 'string' ? parseHttpDate(dateHeader.replace(/^[ \t]+|[ \t]+$/g, ''), now) : undefined;
  const reference = serverNow ?? now;
  if (!Number.isFinite(reference)) return undefined;
  return Math.max(0, at - reference);
}
