/** Starts a key server over a MemoryBackend on free ports and records its events. */
import { type LdapServer, type LdapServerEvent, type LdapServerOptions, startLdapServer } from '../../src/server.ts';
import { BASE_DN, MemoryBackend } from './memory-backend.ts';

export interface TestServer {
  readonly server: LdapServer;
  readonly backend: MemoryBackend;
  readonly port: number;
  readonly events: LdapServerEvent[];
}

export async function startTestServer(
  options: Partial<Omit<LdapServerOptions, 'backend'>> & { backend?: MemoryBackend } = {},
): Promise<TestServer> {
  const backend = options.backend ?? new MemoryBackend();
  const events: LdapServerEvent[] = [];
  const server = await startLdapServer({
    port: 0,
    namingContexts: [BASE_DN],
    ...options,
    backend,
    log: (event) => events.push(event),
  });
  return { server, backend, port: server.address().port, events };
}

/** Resolves once `predicate` holds, checking after each turn of the event loop. */
export async function eventually(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 5));
}
