/**
 * Periodic jobs: CRL re-signing, auto-enrollment, renewal, and the external directories' publishing
 * and import. Every node runs the same runner; each
 * job run happens under `db.exclusive('job:<name>')` and only when the `jobs` row says the interval
 * has passed since the last run, so a cluster runs each job once per interval. The row records the
 * time of the last run and the node that did it.
 */
import { randomUUID } from 'node:crypto';
import { type Row, SYSTEM_ACTOR } from '@sealpost/services';
import { enrollmentOf } from './routes/enrollment.ts';
import type { Services } from './services.ts';

export interface Job {
  readonly name: string;
  readonly intervalMs: number;
  /** What the run did, for the log. */
  run(): Promise<Record<string, unknown>>;
}

export interface JobsOptions {
  /** How often the runner looks for due jobs; default one minute. */
  readonly tickMs?: number;
  /** Names this node in the jobs table; default a random id. */
  readonly nodeId?: string;
  /** Replaces the standard jobs (tests). */
  readonly jobs?: readonly Job[];
}

export interface JobRunner {
  /** Runs every due job once (skipping those another node runs or ran within their interval); returns the names run here. */
  runDue(): Promise<string[]>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

const MINUTE = 60_000;

/** The standard jobs over the services. */
export function standardJobs(services: Services): Job[] {
  const enrollment = enrollmentOf(services);
  const publishing: Job[] =
    services.externalDirectories.by('publish').length === 0
      ? []
      : [
          {
            name: 'directory-publish',
            intervalMs: MINUTE,
            run: async () => {
              const report = await services.publisher.syncDue();
              for (const failure of report.failed) services.log.warn('directory publication failed', { ...failure });
              return {
                published: report.published,
                removed: report.removed,
                noEntry: report.noEntry,
                failed: report.failed.length,
                unreachable: report.unreachable,
              };
            },
          },
        ];
  const imports: Job[] = services.externalDirectories.by('import').map((source) => ({
    name: `directory-import:${source.name}`,
    intervalMs: 60 * MINUTE,
    run: async () => {
      const { skipped, ...counts } = await services.directoryImport.importFrom(SYSTEM_ACTOR, source);
      for (const s of skipped.slice(0, 20)) services.log.warn('directory import skipped an entry', { ...s });
      return { ...counts, skipped: skipped.length };
    },
  }));
  return [
    ...publishing,
    ...imports,
    { name: 'crl-refresh', intervalMs: 60 * MINUTE, run: async () => ({ refreshed: await services.ca.refreshCrls() }) },
    {
      name: 'auto-enrollment',
      intervalMs: 15 * MINUTE,
      run: async () => {
        const report = await enrollment.enrollMissing();
        for (const failure of report.failed) services.log.warn('auto-enrollment failed', { ...failure });
        return { issued: report.issued.length, failed: report.failed.length };
      },
    },
    {
      name: 'renewal',
      intervalMs: 60 * MINUTE,
      run: async () => {
        const report = await enrollment.renewDue();
        for (const failure of report.failed) services.log.warn('renewal failed', { ...failure });
        return { renewed: report.renewed.length, failed: report.failed.length };
      },
    },
  ];
}

export function startJobs(services: Services, options: JobsOptions = {}): JobRunner {
  const { db, clock, log } = services;
  const nodeId = options.nodeId ?? randomUUID();
  const jobs = options.jobs ?? standardJobs(services);
  let running: Promise<string[]> | undefined;
  let stopped = false;

  const runOne = async (job: Job): Promise<boolean> => {
    const ran = await db.exclusive(`job:${job.name}`, async () => {
      const row = await db.get<{ last_run_at: string | null } & Row>('SELECT last_run_at FROM jobs WHERE name = ?', [
        job.name,
      ]);
      const startedAt = clock.now();
      if (row?.last_run_at != null && startedAt.getTime() - Date.parse(row.last_run_at) < job.intervalMs) return false;
      // Recorded before the work, so that a failing job waits for its interval rather than running on every tick.
      await db.run(
        `INSERT INTO jobs (name, last_run_at, holder) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at, holder = excluded.holder`,
        [job.name, startedAt.toISOString(), nodeId],
      );
      try {
        log.info('job finished', { job: job.name, node: nodeId, ...(await job.run()) });
      } catch (e) {
        log.error('job failed', { job: job.name, node: nodeId, error: e });
      }
      return true;
    });
    return ran === true;
  };

  const runDue = (): Promise<string[]> => {
    running ??= (async () => {
      const ran: string[] = [];
      for (const job of jobs) {
        if (stopped) break;
        try {
          if (await runOne(job)) ran.push(job.name);
        } catch (e) {
          // The lock or the jobs row could not be reached (database down): the next tick tries again.
          log.warn('job skipped', { job: job.name, error: e });
        }
      }
      return ran;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => void runDue(), options.tickMs ?? MINUTE);
  timer.unref();
  return {
    runDue,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
