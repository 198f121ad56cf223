import { describeOpStoreConformance } from './support/conformance';
import { indexedDbHarness } from './support/harness';

// localforage's own IndexedDB driver over fake-indexeddb (jest setupFiles).
describeOpStoreConformance(indexedDbHarness);
