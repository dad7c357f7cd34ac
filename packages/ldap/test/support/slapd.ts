// A real OpenLDAP slapd for tests and benchmarks: its own temporary directory (slapd.conf, mdb
// database, TLS files), a free loopback port, run as the current user in the foreground (`-d 0`) so
// that it is our child process and dies with `stop()`. Entries are bulk-loaded with `slapadd -q`
// before the start (a million in a few minutes) or added afterwards with the OpenLDAP CLI tools.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTlsFixture } from './tls.ts';

const run = promisify(execFile);

const SLAPD = '/usr/sbin/slapd';
const SCHEMA_DIR = '/etc/ldap/schema';
const DEFAULT_SCHEMAS = ['core', 'cosine', 'inetorgperson'];
/** mdb maps its file with this ceiling; the benchmark's million entries need a few GiB. */
const MAX_SIZE = 8 * 1024 ** 3;
const START_TIMEOUT_MS = 15_000;

export interface SlapdOptions {
  /** Default dc=example,dc=org; its entry (dcObject + organization) is created unless `baseEntry` is false. */
  readonly suffix?: string;
  readonly baseEntry?: boolean;
  /** Schema file names in /etc/ldap/schema, without `.schema`; default core, cosine, inetorgperson. */
  readonly schemas?: readonly string[];
  /** Also listen on ldaps:// and offer StartTLS, with a certificate for 127.0.0.1/localhost from a fresh CA. */
  readonly tls?: boolean;
  /** LDIF texts or files (`{ file }`) loaded with `slapadd -q` before the start, in order, parents first. */
  readonly load?: readonly (string | { readonly file: string })[];
  /** Raw lines appended to the database section of slapd.conf (limits, indexes, ACLs). */
  readonly databaseConfig?: readonly string[];
}

export interface SlapdTls {
  /** The CA that issued the server certificate, PEM. */
  readonly caPem: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** ldaps://127.0.0.1:<port> */
  readonly ldapsUrl: string;
}

/** One search hit of `ldapsearch`, values decoded (base64 values become bytes). */
export interface LdifEntry {
  readonly dn: string;
  readonly attributes: ReadonlyMap<string, Buffer[]>;
}

export class Slapd {
  readonly dir: string;
  readonly suffix: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  /** ldap://127.0.0.1:<port> */
  readonly url: string;
  readonly tls: SlapdTls | undefined;
  readonly #urls: string;
  #process: ChildProcess | undefined;
  #stderr = '';

  private constructor(dir: string, suffix: string, rootPassword: string, port: number, tls: SlapdTls | undefined) {
    this.dir = dir;
    this.suffix = suffix;
    this.rootDn = `cn=admin,${suffix}`;
    this.rootPassword = rootPassword;
    this.url = `ldap://127.0.0.1:${port}`;
    this.tls = tls;
    this.#urls = tls ? `${this.url}/ ${tls.ldapsUrl}/` : `${this.url}/`;
  }

  /** Creates the directory and database, loads `options.load`, and starts slapd. */
  static async start(options: SlapdOptions = {}): Promise<Slapd> {
    const dir = await mkdtemp(join(tmpdir(), 'sealpost-slapd-'));
    try {
      const suffix = options.suffix ?? 'dc=example,dc=org';
      const rootPassword = `pw-${Math.random().toString(36).slice(2)}`;
      const [port, ldapsPort] = await freePorts(options.tls ? 2 : 1);
      const tls = options.tls ? makeTls(dir, ldapsPort!) : undefined;
      const slapd = new Slapd(dir, suffix, rootPassword, port!, tls);
      await mkdir(join(dir, 'db'));
      await writeFile(join(dir, 'root.pw'), rootPassword, { mode: 0o600 });
      await writeFile(join(dir, 'slapd.conf'), slapd.#config(options));
      if (options.baseEntry !== false) await slapd.slapadd(baseEntryLdif(suffix));
      for (const item of options.load ?? []) await slapd.slapadd(item);
      await slapd.resume();
      return slapd;
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Bulk-loads LDIF into the (stopped) database with `slapadd -q`: no checks beyond the schema, fast. */
  async slapadd(ldif: string | { readonly file: string }): Promise<void> {
    if (this.#process) throw new Error('slapadd needs slapd stopped: call halt() first');
    const file = typeof ldif === 'string' ? join(this.dir, 'load.ldif') : ldif.file;
    if (typeof ldif === 'string') await writeFile(file, ldif);
    await run('/usr/sbin/slapadd', ['-q', '-f', join(this.dir, 'slapd.conf'), '-l', file], {
      maxBuffer: 1 << 24,
    });
  }

  /** Starts (again) the slapd process on the same port and data; resolves once it accepts LDAP requests. */
  async resume(): Promise<void> {
    if (this.#process) return;
    this.#stderr = '';
    const child = spawn(SLAPD, ['-d', '0', '-f', join(this.dir, 'slapd.conf'), '-h', this.#urls], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#process = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`slapd exited (${code}) during start:\n${this.#stderr}`))),
    );
    exited.catch(() => {});
    child.once('exit', () => {
      if (this.#process === child) this.#process = undefined;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const ready = await Promise.race([
        this.#ldap('ldapwhoami', ['-x', '-H', this.url]).then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (ready) return;
      if (Date.now() > deadline) {
        await this.halt();
        throw new Error(`slapd did not answer on ${this.url} within ${START_TIMEOUT_MS} ms:\n${this.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the process and keeps the data (a directory that is down); `resume()` brings it back. */
  async halt(): Promise<void> {
    const child = this.#process;
    if (!child) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    this.#process = undefined;
  }

  /** Stops slapd and deletes its directory. */
  async stop(): Promise<void> {
    await this.halt();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Adds entries with `ldapadd` as the root DN. */
  async ldapadd(ldif: string): Promise<void> {
    await this.#ldap('ldapadd', this.#rootArgs(), ldif);
  }

  /** Applies an LDIF change record (changetype: modify / delete / modrdn …) with `ldapmodify` as the root DN. */
  async ldapmodify(ldif: string): Promise<void> {
    await this.#ldap('ldapmodify', this.#rootArgs(), ldif);
  }

  /** `ldapsearch` as the root DN; returns the entries found with their values. */
  async ldapsearch(
    base: string,
    filter = '(objectClass=*)',
    attributes: readonly string[] = [],
    scope: 'base' | 'one' | 'sub' = 'sub',
  ): Promise<LdifEntry[]> {
    const out = await this.#ldap('ldapsearch', [
      ...this.#rootArgs(),
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-b',
      base,
      '-s',
      scope,
      filter,
      ...attributes,
    ]);
    return parseLdif(out);
  }

  /** The values of one attribute of one entry (empty when the entry has none). */
  async values(dn: string, attribute: string): Promise<Buffer[]> {
    const [entry] = await this.ldapsearch(dn, '(objectClass=*)', [attribute], 'base');
    const wanted = attribute.toLowerCase();
    return [...(entry?.attributes ?? new Map<string, Buffer[]>())]
      .filter(([type]) => type.toLowerCase() === wanted)
      .flatMap(([, v]) => v);
  }

  #rootArgs(): string[] {
    return ['-x', '-H', this.url, '-D', this.rootDn, '-y', join(this.dir, 'root.pw')];
  }

  async #ldap(tool: string, args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(tool, args, { maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${tool} failed: ${stderr || error.message}`));
        else resolve(stdout);
      });
      // A tool that exits without reading its input (or fails early) closes the pipe: its exit status tells.
      child.stdin?.on('error', () => {});
      child.stdin?.end(input ?? '');
    });
  }

  #config(options: SlapdOptions): string {
    const schemas = options.schemas ?? DEFAULT_SCHEMAS;
    const tls = this.tls
      ? [
          `TLSCACertificateFile ${this.tls.caFile}`,
          `TLSCertificateFile ${this.tls.certFile}`,
          `TLSCertificateKeyFile ${this.tls.keyFile}`,
        ]
      : [];
    return [
      ...schemas.map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
      `pidfile ${join(this.dir, 'slapd.pid')}`,
      `argsfile ${join(this.dir, 'slapd.args')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      ...tls,
      'database mdb',
      `suffix "${this.suffix}"`,
      `rootdn "${this.rootDn}"`,
      `rootpw ${this.rootPassword}`,
      `directory ${join(this.dir, 'db')}`,
      `maxsize ${MAX_SIZE}`,
      'index objectClass eq',
      'index mail eq',
      // Anonymous users may read (the external-directory lookup binds anonymously), only the root writes.
      'access to * by * read',
      ...(options.databaseConfig ?? []),
      '',
    ].join('\n');
  }
}

/** The LDIF of the suffix entry, e.g. dc=example,dc=org → dcObject + organization. */
function baseEntryLdif(suffix: string): string {
  const [type, value] = suffix.split(',')[0]!.split('=');
  if (type?.toLowerCase() !== 'dc') throw new Error(`baseEntry supports dc= suffixes only, not ${suffix}`);
  return `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: ${value}\no: ${value}\n`;
}

/** Ports the OS reports free on 127.0.0.1 (listen on 0, read, close); slapd binds them right after. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A CA and a server certificate for 127.0.0.1 and localhost in slapd's directory, also served on `ldapsPort`. */
function makeTls(dir: string, ldapsPort: number): SlapdTls {
  const tls = makeTlsFixture(dir);
  return {
    caPem: tls.ca,
    caFile: tls.caPath,
    certFile: tls.certPath,
    keyFile: tls.keyPath,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
  };
}

/** Parses `ldapsearch -LLL -o ldif-wrap=no` output: `attr: text` and `attr:: base64` lines. */
function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  for (const block of text.split(/\n\n+/)) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) continue;
    let dn = '';
    const attributes = new Map<string, Buffer[]>();
    for (const line of lines) {
      const m = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === '::' ? Buffer.from(m[3]!, 'base64') : Buffer.from(m[3]!, 'utf8');
      if (m[1] === 'dn') dn = value.toString('utf8');
      else attributes.set(m[1]!, [...(attributes.get(m[1]!) ?? []), value]);
    }
    entries.push({ dn, attributes });
  }
  return entries;
}
