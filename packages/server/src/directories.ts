/**
 * The directory side of `sealpost serve`: the external LDAP/AD directories of the configuration
 * (`directories`), and the LDAP key server over the `Directory` service (`ldap`; docs/ldap.md).
 */
import { readFile } from 'node:fs/promises';
import { LdapDirectory, type LdapServer, startLdapServer } from '@sealpost/ldap';
import type { Directory } from '@sealpost/services';
import { type DirectorySettings, type DirectoryUse, type LdapSettings, parseListen } from './config.ts';
import type { Logger } from './logging.ts';

/** The configured external directories, each opened once, grouped by what they are used for. */
export interface ExternalDirectories {
  /** What the configuration says about each, in its order (no secrets: passwords stay in their files). */
  readonly settings: readonly DirectorySettings[];
  readonly all: readonly LdapDirectory[];
  readonly by: (use: DirectoryUse) => readonly LdapDirectory[];
  /** Closes their connections (shutdown). */
  close(): Promise<void>;
}

/** Opens the configured directories: bind passwords are read from their files here, once. */
export async function openExternalDirectories(settings: readonly DirectorySettings[]): Promise<ExternalDirectories> {
  const opened = await Promise.all(
    settings.map(async (d) => {
      const bindPassword =
        d.bindPasswordFile === undefined
          ? undefined
          : await readSecretFile(d.bindPasswordFile, `${d.name}'s bind password`);
      const ca = d.caFile === undefined ? undefined : await readFile(d.caFile, 'utf8');
      const directory = new LdapDirectory({
        name: d.name,
        url: d.url,
        baseDn: d.baseDn,
        ...(d.bindDn === undefined ? {} : { bindDn: d.bindDn, bindPassword: bindPassword! }),
        startTls: d.startTls,
        ...(ca === undefined ? {} : { tls: { ca } }),
        filter: d.filter,
        timeoutMs: d.timeoutMs,
        ...(d.groupsBaseDn === undefined ? {} : { groupsBaseDn: d.groupsBaseDn }),
      });
      return { directory, uses: d.uses };
    }),
  );
  return {
    settings,
    all: opened.map((o) => o.directory),
    by: (use) => opened.filter((o) => o.uses.includes(use)).map((o) => o.directory),
    close: async () => {
      await Promise.all(opened.map((o) => o.directory.close()));
    },
  };
}

async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} from ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  // One trailing newline is the file's, not the password's (echo > file).
  return text.replace(/\r?\n$/, '');
}

/** Starts the LDAP key server; logs where it listens (`sealpost ldap listening on ldap://…`). */
export async function startKeyServer(settings: LdapSettings, directory: Directory, log: Logger): Promise<LdapServer> {
  const { host, port } = parseListen(settings.listen);
  const tls =
    settings.tls === undefined
      ? undefined
      : { cert: await readFile(settings.tls.certFile), key: await readFile(settings.tls.keyFile) };
  const ldaps = settings.ldapsListen === undefined ? undefined : parseListen(settings.ldapsListen);
  const server = await startLdapServer({
    backend: directory,
    host,
    port,
    ...(tls === undefined ? {} : { tls }),
    ...(ldaps === undefined ? {} : { ldaps }),
    namingContexts: [directory.baseDn],
    anonymous: settings.anonymous,
    limits: { maxConnections: settings.maxConnections },
    log: (event) => {
      // Sessions come and go by the thousand: only what an operator acts on is logged above debug.
      if (event.event === 'error' || event.event === 'refuse') log.warn(`ldap ${event.event}`, { ...event });
      else log.debug(`ldap ${event.event}`, { ...event });
    },
  });
  const url = (scheme: string, a: { host: string; port: number }) =>
    `${scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  const bound = server.ldapsAddress();
  log.info(`sealpost ldap listening on ${url('ldap', server.address())}`, {
    url: url('ldap', server.address()),
    ...(bound === undefined ? {} : { ldaps: url('ldaps', bound) }),
    baseDn: directory.baseDn,
  });
  return server;
}
