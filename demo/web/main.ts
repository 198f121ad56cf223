/**
 * `npm run demo:web`: serve the browser demo on 127.0.0.1 (port from
 * `PORT`, else a free one), print its URL, stop cleanly on Ctrl-C.
 */
import { startWebDemo } from './web-server';

async function main(): Promise<void> {
  const port = process.env.PORT === undefined ? 0 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number (0–65535), got ${JSON.stringify(process.env.PORT)}`);
    process.exitCode = 2;
    return;
  }
  const demo = await startWebDemo({ port });
  console.log(`sync-engine browser demo: ${demo.url}`);
  console.log('Open it in a browser; flip the switches on the right. Ctrl-C stops the demo.');
  const stop = (): void => {
    console.log('\nstopping…');
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
