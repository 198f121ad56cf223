import { CHROMIUM, CHROMIUM_AVAILABLE } from './chromium';

export { CHROMIUM, launchChromium, launchChromiumOnDisk, servePage, type PageServer } from './chromium';

/**
 * The real-browser tests' entry: Debian's chromium (required in CI, skipped
 * with a notice elsewhere); serving and launching live in `chromium.ts`,
 * which benches share.
 */
if (!CHROMIUM_AVAILABLE && process.env.CI) throw new Error(`chromium not found at ${CHROMIUM}: .ci/run must install it`);
if (!CHROMIUM_AVAILABLE) console.warn(`skipping browser tests: no chromium at ${CHROMIUM}`);

// Read off globalThis: benches load this file outside jest.
const jestDescribe = (globalThis as { describe?: jest.Describe }).describe;
/** `describe` when chromium is there, `describe.skip` otherwise. */
export const describeInChromium = (CHROMIUM_AVAILABLE ? jestDescribe : jestDescribe?.skip) as jest.Describe;

/** Whether chromium is there (benches print a notice and skip without it). */
export const chromiumAvailable = CHROMIUM_AVAILABLE;
