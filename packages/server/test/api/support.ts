// Test support for the REST API: a real server (in-process, the production wiring) on SQLite or on
// a fresh PostgreSQL schema, its first administrator created through the services (as the CLI's
// `sealpost admin create` does), and a small client that keeps the session cookie and CSRF token.
import type { Role } from '@sealpost/services';
import { createServices, type ServerDeps, type Services, wiring } from '../../src/index.ts';
import { postgresSchema, type Response, request, startTestServer, type TestServer } from '../support/harness.ts';

export const ADMIN_EMAIL = 'admin@example.test';
export const PASSWORD = 'correct horse battery staple';

export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface ApiServer {
  readonly url: string;
  readonly test: TestServer;
  /** Services over the server's own database, for setting up state the test is not about. */
  readonly services: Services;
  readonly adminId: string;
  /** A client logged in as the first administrator. */
  readonly admin: ApiClient;
  /** Creates a user with a login in this role and returns a client logged in as them. */
  login(email: string, role: Role): Promise<ApiClient>;
  stop(): Promise<void>;
}

export async function startApi(dialect: Dialect): Promise<ApiServer> {
  const schema = dialect === 'postgres' ? await postgresSchema() : undefined;
  let deps: ServerDeps | undefined;
  let test: TestServer;
  try {
    test = await startTestServer(schema === undefined ? {} : { databaseUrl: schema.url() }, {
      routes: (d) => {
        deps = d;
        return wiring.routes?.(d) ?? [];
      },
      ...(wiring.access === undefined ? {} : { access: wiring.access }),
    });
  } catch (e) {
    await schema?.dispose();
    throw e;
  }
  if (deps === undefined) throw new Error('the server did not build its routes');
  const services = await createServices(deps);
  const account = await services.accounts.createAdmin(ADMIN_EMAIL, PASSWORD, 'First Admin');
  const admin = new ApiClient(test.url);
  await admin.login(ADMIN_EMAIL, PASSWORD);
  return {
    url: test.url,
    test,
    services,
    adminId: account.userId,
    admin,
    login: async (email, role) => {
      const user =
        (await services.users.findByEmail(email)) ??
        (await services.users.create('system', { email, displayName: email }));
      await services.accounts.createAccount('system', user.id, PASSWORD, role);
      const client = new ApiClient(test.url);
      await client.login(email, PASSWORD);
      return client;
    },
    stop: async () => {
      try {
        await test.stop();
      } finally {
        await schema?.dispose();
      }
    },
  };
}

/** A caller of the API: a browser (session cookie + CSRF token), a machine (bearer token), or nobody. */
export class ApiClient {
  readonly url: string;
  cookie: string | undefined;
  csrfToken: string | undefined;
  bearer: string | undefined;
  userId: string | undefined;

  constructor(url: string, credentials: { bearer?: string } = {}) {
    this.url = url;
    this.bearer = credentials.bearer;
  }

  /** Logs in; throws unless the server answers 200. */
  async login(email: string, password: string): Promise<Response> {
    const res = await this.send('POST', '/api/v1/session', { email, password });
    if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${res.text}`);
    const setCookie = res.headers['set-cookie']?.[0];
    if (setCookie === undefined) throw new Error('login set no cookie');
    this.cookie = setCookie.split(';')[0];
    const body = res.json() as { csrfToken: string; user: { id: string } };
    this.csrfToken = body.csrfToken;
    this.userId = body.user.id;
    return res;
  }

  /** A request with this client's credentials; the CSRF header rides along unless `csrf` is false. */
  send(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.bearer !== undefined) headers['authorization'] = `Bearer ${this.bearer}`;
    if (this.cookie !== undefined) headers['cookie'] = this.cookie;
    if (this.csrfToken !== undefined && options.csrf !== false) headers['x-csrf-token'] = this.csrfToken;
    return request(`${this.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  }

  get = (path: string) => this.send('GET', path);
  post = (path: string, body?: unknown) => this.send('POST', path, body);
  put = (path: string, body?: unknown) => this.send('PUT', path, body);
  patch = (path: string, body?: unknown) => this.send('PATCH', path, body);
  delete = (path: string) => this.send('DELETE', path);
}
