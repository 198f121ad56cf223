import { describeOpStoreConformance } from '../store/support/conformance';
import { sqliteHarness } from '../store/support/harness';

describeOpStoreConformance(sqliteHarness());
