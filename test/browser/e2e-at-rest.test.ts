import { describeInChromium } from './chromium-page-server';
import { createdIds, openPage, sleep, useE2eWorld, waitUntil } from './e2e-harness';

/**
 * At rest in a real browser: after ops were committed (ledger), failed
 * (dead-letter queue) and left pending, every record of every IndexedDB
 * database of the origin — read with the raw IndexedDB API, keys and
 * values, as text, bytes and base64 — holds no plaintext of the payloads;
 * the device key kept in IndexedDB is a non-extractable AES-GCM 256
 * `CryptoKey` whose bytes cannot be exported. The scan is checked against
 * a plaintext record first, so it cannot pass by reading nothing.
 */
describeInChromium('e2e: at rest in Chromium (raw IndexedDB)', () => {
  const e2e = useE2eWorld();

  it('no plaintext payload in any IndexedDB record; the device key is non-extractable', async () => {
    const { world } = e2e;
    const { backend } = world;
    const marker = `at-rest-marker-${Date.now().toString(36)}`;
    const context = await e2e.newContext();
    const { api, errors } = await openPage(world, context);

    // Positive control: the scan finds the marker in a plaintext record.
    await api.writePlaintextControl(marker);
    expect((await api.scan(marker)).hits).toEqual(['e2e-plaintext-control/records']);
    await api.deletePlaintextControl();

    await api.open({ name: 'e2e-at-rest', token: world.token });
    await api.enqueue(['r-1'], marker); // committed: an idempotency-ledger entry
    await waitUntil(() => createdIds(backend).includes('r-1'), 20_000, 'r-1 to be committed');
    backend.faults.script([{ kind: 'badRequest' }]);
    await api.enqueue(['r-2'], marker); // refused: a dead-letter record with its error
    await waitUntil(async () => (await api.failed()) === 1, 20_000, 'r-2 to reach the dead-letter queue');
    backend.faults.down(true);
    await api.enqueue(['r-3', 'r-4', 'r-5'], marker); // pending, tried and backing off (bookkeeping rewritten)
    await waitUntil(async () => (await api.status())?.lastError?.kind === 'network', 20_000, 'a failed attempt while the server is down');
    await sleep(300);

    const scan = await api.scan(marker);
    const count = (store: string) => scan.stores[`e2e-at-rest/${store}`] ?? 0;
    expect(count('pending_ops')).toBe(3);
    expect(count('failed_ops')).toBe(1);
    expect(count('idempotency_ledger')).toBeGreaterThanOrEqual(1);
    expect(scan.stores['sync-engine-keys/keys']).toBeGreaterThanOrEqual(1);
    expect(scan.hits).toEqual([]);

    const key = await api.deviceKey('e2e-at-rest');
    expect(key).toEqual({
      isCryptoKey: true,
      extractable: false,
      algorithm: 'AES-GCM',
      length: 256,
      usages: ['decrypt', 'encrypt'],
      exportError: 'InvalidAccessError',
    });
    expect(errors).toEqual([]);
    // eslint-disable-next-line no-console
    console.log(`at rest: ${Object.keys(scan.stores).length} object stores, ${scan.bytes} characters of keys and values read raw; no plaintext; device key non-extractable`);
    backend.faults.clear();
    await api.close();
  }, 80_000);
});
