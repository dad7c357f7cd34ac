// `sealpost serve` with the production wiring, as a child process the fault tests can kill. With
// SEALPOST_TEST_JOB_TICK_MS set, the background jobs are looked at every that many milliseconds
// (production: every minute) and each look is logged ("test: jobs tick"), so a test can wait for
// several looks on every node and then count the runs.
import { main, servicesProvider, type Wiring, wiring } from '../../src/index.ts';
import { startJobs } from '../../src/jobs.ts';

const tick = Number(process.env['SEALPOST_TEST_JOB_TICK_MS'] ?? '0');

const testWiring: Wiring =
  tick > 0
    ? {
        ...wiring,
        background: async (deps) => {
          const runner = startJobs(await servicesProvider(deps)(), { tickMs: 3_600_000 });
          // One look at a time: a tick during a run would share that run's result and count it twice.
          let looking = false;
          const timer = setInterval(() => {
            if (looking) return;
            looking = true;
            void runner
              .runDue()
              .then((ran) => deps.log.info('test: jobs tick', { ran }))
              .finally(() => {
                looking = false;
              });
          }, tick);
          return {
            stop: async () => {
              clearInterval(timer);
              await runner.stop();
            },
          };
        },
      }
    : wiring;

process.exitCode = await main(process.argv.slice(2), process.env, testWiring);
