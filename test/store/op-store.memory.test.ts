import { describeOpStoreConformance } from './support/conformance';
import { memoryHarness } from './support/harness';

describeOpStoreConformance(memoryHarness);
