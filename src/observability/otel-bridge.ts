import type { BatchObservableCallback, Meter, MeterProvider, Observable as OtelObservable } from '@opentelemetry/api';
import { globalMeterProvider } from './otel-globals';
import { METRIC_DESCRIPTORS, METRIC_NAMES, type MetricsSnapshot } from './metric-names';

const METER_NAME = 'sync-engine';
const METER_VERSION = '0.1.0';

/**
 * Binds the snapshot to OTel observable instruments, obtaining the meter
 * lazily: the metrics API has no proxy, so instruments made on the no-op
 * provider would stay no-ops forever. Every `sync()` compares the current
 * provider with the one the instruments came from and re-creates them when
 * it changed. Counters are cumulative totals kept by us, so nothing recorded
 * before registration is lost.
 */
export class OtelBridge {
  #provider: MeterProvider | undefined;
  #meter: Meter | undefined;
  #instruments: OtelObservable[] = [];
  readonly #callback: BatchObservableCallback;

  constructor(
    read: () => MetricsSnapshot,
    private readonly explicitProvider: MeterProvider | undefined,
  ) {
    this.#callback = (result) => {
      const s = read();
      METRIC_NAMES.forEach((name, i) => {
        const value = s[name];
        const instrument = this.#instruments[i];
        if (instrument !== undefined && typeof value === 'number') result.observe(instrument, value);
      });
    };
  }

  sync(): void {
    // None registered: nothing to bind (the API's would be its no-op provider).
    const provider = this.explicitProvider ?? globalMeterProvider();
    if (provider === this.#provider) return;
    this.detach();
    if (provider === undefined) return;
    this.#provider = provider;
    const meter = provider.getMeter(METER_NAME, METER_VERSION);
    this.#instruments = METRIC_NAMES.map((name) => {
      const d = METRIC_DESCRIPTORS[name];
      const opts = { unit: d.unit, description: d.description };
      return d.kind === 'counter' ? meter.createObservableCounter(name, opts) : meter.createObservableGauge(name, opts);
    });
    meter.addBatchObservableCallback(this.#callback, this.#instruments);
    this.#meter = meter;
  }

  detach(): void {
    if (this.#meter !== undefined) this.#meter.removeBatchObservableCallback(this.#callback, this.#instruments);
    this.#meter = undefined;
    this.#provider = undefined;
    this.#instruments = [];
  }
}
