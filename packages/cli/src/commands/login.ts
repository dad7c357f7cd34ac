/** `sealpost login`: signs in once with a password and keeps an API token (0600) for the other commands. */
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ApiClient, cliConfigPath, emit, writeCliConfig, writeSecretFile } from '../api-client.ts';
import { type Command, str } from '../command.ts';
import { readPassword, UsageError } from '../io.ts';

export const login: Command = {
  name: 'login',
  summary: 'sign in to a Sealpost server and save an API token for the operator commands',
  usage: 'sealpost login --server URL --email ADDRESS [--password-file FILE] [--token-file FILE]',
  help: `Options:
      --server URL          the server, e.g. http://127.0.0.1:8080
      --email ADDRESS       the account to sign in as
      --password-file FILE  the password, from FILE (first line); without it a terminal asks.
                            Passwords never go on the command line.
      --token-file FILE     where to save the token (default: token beside the CLI configuration)
      --token-name NAME     the token's name on the server (default: sealpost-cli@HOST)
      --expires-days N      the token expires after N days (default: never; revoke it with the API)
      --json                print the created token's id, name, scopes and file as JSON

The token holds all of the account's permissions. It is written to its file with mode 0600, and
the server and file are saved in $XDG_CONFIG_HOME/sealpost/cli.json (default ~/.config), which the
other commands read. The password session used to create the token is closed again.

Example:
  sealpost login --server http://127.0.0.1:8080 --email admin@example.org`,
  options: {
    server: { type: 'string' },
    email: { type: 'string' },
    'password-file': { type: 'string' },
    'token-file': { type: 'string' },
    'token-name': { type: 'string' },
    'expires-days': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(v, _positionals, io) {
    const server = str(v['server']) ?? (io.env['SEALPOST_SERVER'] || undefined);
    const email = str(v['email']);
    if (server === undefined) throw new UsageError('--server is required');
    if (email === undefined) throw new UsageError('--email is required');
    const days = str(v['expires-days']);
    if (days !== undefined && !/^[1-9]\d{0,4}$/.test(days))
      throw new UsageError('--expires-days must be a whole number of days');
    const passwordFile = str(v['password-file']);
    const password = await readPassword(
      passwordFile === undefined ? {} : { 'password-file': passwordFile },
      io,
      `Password for ${email}: `,
    );
    if (password === undefined) throw new UsageError('give --password-file FILE (no terminal to ask for the password)');
    const client = new ApiClient(server, undefined);
    const response = await client.send('POST', '/api/v1/session', { anonymous: true, json: { email, password } });
    const session = (await response.json()) as { role: string; csrfToken: string };
    // Only the cookie's name=value goes back; its attributes are for browsers.
    const cookie = response.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .join('; ');
    const sessionHeaders = { cookie, 'x-csrf-token': session.csrfToken };
    const { ROLE_PERMISSIONS, isRole } = await import('@sealpost/services');
    if (!isRole(session.role)) throw new UsageError(`the server answered with an unknown role "${session.role}"`);
    const created = await client.json<{ id: string; token: string; name: string; scopes: string[] }>(
      'POST',
      '/api/v1/tokens',
      {
        anonymous: true,
        headers: sessionHeaders,
        json: {
          name: str(v['token-name']) ?? `sealpost-cli@${hostname()}`,
          scopes: ROLE_PERMISSIONS[session.role],
          ...(days === undefined ? {} : { expiresAt: new Date(Date.now() + Number(days) * 86_400_000).toISOString() }),
        },
      },
    );
    await client.send('DELETE', '/api/v1/session', { anonymous: true, headers: sessionHeaders });
    const tokenFile = resolve(str(v['token-file']) ?? join(dirname(cliConfigPath(io.env)), 'token'));
    await writeSecretFile(tokenFile, `${created.token}\n`);
    const configPath = await writeCliConfig(io.env, { server: client.server, tokenFile });
    const { token: _secret, ...shown } = created;
    emit(
      io,
      v,
      { ...shown, server: client.server, tokenFile, config: configPath },
      `signed in to ${client.server} as ${email} (${session.role}); token "${created.name}" saved to ${tokenFile}`,
    );
    return 0;
  },
};
