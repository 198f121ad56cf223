import type { ServerResponse } from 'node:http';
import type { FaultController } from './faults';

/**
 * `GET /events`: Server-Sent Events for `eventSourceWake`. No auth (an
 * `EventSource` cannot send headers; the stream carries no data): `ready`
 * at once while the server is up, and each time it comes back from
 * `faults.down`. A stream stays open while the server is down — the
 * announcing service is separate from the API.
 *
 * @example
 * const events = new EventStreams(faults);
 * if (path === '/events') return events.open(res);
 */
export class EventStreams {
  readonly #open = new Set<ServerResponse>();

  constructor(private readonly faults: FaultController) {
    faults.onRecovered(() => {
      for (const res of this.#open) announceReady(res);
    });
  }

  /** Answer a `GET /events` with a stream that stays open until the client goes. */
  open(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': sync-engine reference backend\n\n');
    if (!this.faults.isDown) announceReady(res);
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
  }
}

function announceReady(res: ServerResponse): void {
  if (!res.destroyed) res.write('event: ready\ndata: {}\n\n');
}
