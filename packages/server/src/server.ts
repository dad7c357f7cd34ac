/**
 * The server's lifecycle: create the data directory, load (or create) the master key, open the
 * database (running migrations), listen, and on close drain in-flight requests before closing the
 * database.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Clock, type Database, type MasterKey, systemClock } from '@sealpost/services';
import { loadMasterKey, type MasterKeySource, openDatabase } from '@sealpost/store';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_HTTP,
  type DirectorySettings,
  type LdapSettings,
  parseListen,
  type ServerConfig,
} from './config.ts';
import type { Authenticator, Authorize } from './http/auth.ts';
import { createRequestHandler } from './http/handler.ts';
import { DEFAULT_BODY_LIMIT, type Route, Router } from './http/router.ts';
import { createLogger, type Logger, type LogSink } from './logging.ts';
import { Metrics } from './metrics.ts';
import { type Readiness, systemRoutes } from './routes/system.ts';

export const VERSION = '0.1.0';

/** What domain routes and the accounts service are built from. */
export interface ServerDeps {
  readonly db: Database;
  readonly masterKey: MasterKey;
  /** Keys that still open data keys wrapped before a master key rotation (`previousMasterKeys`). */
  readonly previousMasterKeys?: readonly MasterKey[];
  readonly clock: Clock;
  readonly log: Logger;
  /** `publicUrl` of the configuration: where clients reach the server (default URLs of new CAs). */
  readonly publicUrl?: string;
  /** The LDAP key server's settings; absent when it is turned off. */
  readonly ldap?: LdapSettings;
  /** External directories (config `directories`); none when absent. */
  readonly directories?: readonly DirectorySettings[];
}

/** How the domain plugs in: its routes, and the accounts service's authentication and role table. */
export interface Wiring {
  routes?(deps: ServerDeps): Route[];
  /** Without it, nobody can authenticate and only public routes answer. */
  access?(deps: ServerDeps): { authenticator: Authenticator; authorize: Authorize };
  /** Work that runs while the server listens (scheduled jobs); stopped before the database closes. */
  background?(deps: ServerDeps): Promise<{ stop(): Promise<void> }>;
}

export type StartOptions = Partial<ServerConfig> & {
  /** Where log lines go; stdout by default. */
  readonly logSink?: LogSink;
  readonly clock?: Clock;
};

export interface RunningServer {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  readonly url: string;
  readonly port: number;
  readonly log: Logger;
  /** Stops accepting, lets in-flight requests finish (up to the deadline), closes the database. Idempotent. */
  close(): Promise<void>;
  /** Drops every connection now, in-flight or not; a pending close() then completes. */
  abort(): void;
}

/** How long readiness waits for the database before calling it unavailable. */
const PING_TIMEOUT_MS = 2000;

export async function startServer(options: StartOptions = {}, wiring: Wiring = {}): Promise<RunningServer> {
  const startedAt = process.hrtime.bigint();
  const clock = options.clock ?? systemClock;
  const log = createLogger({
    sink: options.logSink ?? process.stdout,
    level: options.logLevel ?? 'info',
    now: () => clock.now(),
  });
  const { host, port } = parseListen(options.http ?? DEFAULT_HTTP);
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keySource: MasterKeySource = options.masterKey ?? { path: join(dataDir, 'master.key') };
  const masterKey = await loadMasterKey(keySource);
  const previousMasterKeys = await Promise.all((options.previousMasterKeys ?? []).map((k) => loadMasterKey(k)));
  const db = await openDatabase(options.databaseUrl === undefined ? { dataDir } : { url: options.databaseUrl });
  log.info('database ready', {
    dialect: db.dialect,
    masterKeyId: masterKey.id,
    ...(previousMasterKeys.length === 0 ? {} : { previousMasterKeyIds: previousMasterKeys.map((k) => k.id) }),
  });

  let draining = false;
  let server: Server | undefined;
  try {
    const deps: ServerDeps = {
      db,
      masterKey,
      previousMasterKeys,
      clock,
      log,
      ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
      ...(options.ldap === undefined ? {} : { ldap: options.ldap }),
      ...(options.directories === undefined ? {} : { directories: options.directories }),
    };
    const access = wiring.access?.(deps);
    const metrics = new Metrics();
    const router = new Router();
    const readiness = async (): Promise<Readiness> => {
      const database = await pingWithin(db, PING_TIMEOUT_MS);
      return {
        ready: database && !draining,
        draining,
        checks: { database: database ? 'ok' : 'unavailable', masterKey: 'ok' },
      };
    };
    router.add(
      ...systemRoutes({
        router,
        metrics,
        version: VERSION,
        readiness,
        uptimeSeconds: () => Number(process.hrtime.bigint() - startedAt) / 1e9,
      }),
      ...(wiring.routes?.(deps) ?? []),
    );
    const listening = createServer(
      createRequestHandler({
        router,
        log,
        metrics,
        bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
        trustProxy: options.trustProxy ?? false,
        authenticator: access?.authenticator,
        authorize: access?.authorize ?? (() => false),
        draining: () => draining,
      }),
    );
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, host, () => {
        listening.off('error', reject);
        resolve();
      });
    });
    const bound = (listening.address() as AddressInfo).port;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    const background = await wiring.background?.(deps);
    log.info(`sealpost listening on ${url}`, { url, dataDir, dialect: db.dialect });

    let closing: Promise<void> | undefined;
    const shutdown = async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
      listening.closeIdleConnections();
      // Logged once the listening socket is closed, so whoever reads it can rely on it.
      log.info('shutting down: no new connections; waiting for requests in flight');
      const deadline = setTimeout(() => {
        log.warn('shutdown deadline passed: closing the remaining connections', {
          deadlineMs: options.shutdownTimeoutMs ?? 10_000,
        });
        listening.closeAllConnections();
      }, options.shutdownTimeoutMs ?? 10_000);
      await closed;
      clearTimeout(deadline);
      await background?.stop();
      await db.close();
      log.info('stopped');
    };
    return {
      url,
      port: bound,
      log,
      close: () => {
        closing ??= shutdown();
        return closing;
      },
      abort: () => listening.closeAllConnections(),
    };
  } catch (e) {
    server?.close();
    await db.close();
    throw e;
  }
}

async function pingWithin(db: Database, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      db.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
