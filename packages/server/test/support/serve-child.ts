// `sealpost serve` as a child process, with one extra route for the shutdown test: a JSON echo whose
// body the test can hold back to keep a request in flight.
import { defineRoute, main, s } from '../../src/index.ts';

process.exitCode = await main(process.argv.slice(2), process.env, {
  routes: () => [
    defineRoute({
      method: 'POST',
      path: '/test/echo',
      summary: 'Echo.',
      tags: ['test'],
      auth: 'public',
      body: s.object({ text: s.string() }),
      responses: { 200: { description: 'The text.' } },
      handler: ({ body }) => ({ json: { text: body.text } }),
    }),
  ],
});
