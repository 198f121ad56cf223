import { runTodoCli } from '../../examples/todo-cli';

describe('examples/todo-cli', () => {
  it('shows optimistic changes at once, rebuilds them after a restart, confirms them and rolls back a refusal', async () => {
    const lines: string[] = [];
    await runTodoCli((line) => lines.push(line));
    expect(lines).toEqual([
      '## Right after the changes (nothing sent yet)\n[ ] Buy milk (saving…)\n[ ] Bake bread (saving…)',
      '## After a restart: rebuilt from the durable queue\n[ ] Buy milk (saving…)\n[ ] Bake bread (saving…)',
      '## After sync: confirmed by the server\n[ ] Buy milk\n[ ] Bake bread',
      '## Optimistic: toggled and added\n[x] Buy milk\n[ ] Bake bread\n[ ] Refused by the server (saving…)',
      '## The server refused one change: "The server rejected this change. It was not saved."\n[x] Buy milk\n[ ] Bake bread',
      '## In the dead-letter queue: 1 (permanent 400)',
    ]);
  });
});
