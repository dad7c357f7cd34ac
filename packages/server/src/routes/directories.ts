/**
 * The external directories of the configuration (`directories`): what is configured, and running
 * their import and publishing now rather than at the jobs' next turn (jobs.ts).
 */
import type { DirectoryImportReport, PublishReport } from '@sealpost/services';
import { ServiceError } from '@sealpost/services';
import { DIRECTORY_USES } from '../config.ts';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type ServicesProvider } from '../services.ts';

const COUNT = s.integer({ minimum: 0 });

const DIRECTORY = s.object({
  name: s.string(),
  url: s.string({ description: '`ldap://` or `ldaps://`.' }),
  baseDn: s.string(),
  uses: s.array(s.enum(DIRECTORY_USES), {
    description:
      "`lookup`: correspondents' certificates are looked up there; `publish`: Sealpost's certificates are " +
      "published to users' entries; `import`: people and groups are imported from it.",
  }),
  pending: s.optional(
    s.integer({
      minimum: 0,
      description:
        'Publish directories only: publications not yet confirmed (to be retried) and addresses without an entry there.',
    }),
  ),
});

const IMPORT_REPORT = s.object({
  source: s.string(),
  people: s.integer({ minimum: 0, description: 'People read and imported (skipped ones excluded).' }),
  groups: COUNT,
  created: COUNT,
  updated: s.integer({ minimum: 0, description: "Existing users whose name or uid changed to the directory's." }),
  disabled: s.integer({ minimum: 0, description: 'Users who left the directory: disabled, never deleted.' }),
  enabled: s.integer({ minimum: 0, description: 'Users disabled by an earlier import who came back.' }),
  joined: COUNT,
  left: COUNT,
  skipped: s.array(s.object({ entry: s.string(), reason: s.string() }), {
    description: 'People and groups that could not be imported, with the reason.',
  }),
});

const PUBLISH_REPORT = s.object({
  published: s.integer({ minimum: 0, description: "Certificates now in their holders' entries." }),
  removed: s.integer({ minimum: 0, description: 'Revoked or expired certificates now out of the entries.' }),
  noEntry: s.integer({ minimum: 0, description: 'Certificates whose holder has no entry (tried again later).' }),
  failed: s.array(
    s.object({
      target: s.string(),
      certificateId: s.string(),
      address: s.string(),
      operation: s.enum(['add', 'remove']),
      code: s.string(),
      message: s.string(),
    }),
    { description: 'Publications that failed; the directory-publish job retries them.' },
  ),
  unreachable: s.array(s.string(), { description: 'Directories that could not be reached.' }),
});

export function directoryRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/directories',
      summary: 'List the configured external directories.',
      description:
        "The LDAP/Active Directory servers of the configuration file's `directories`, in its order; bind " +
        'credentials are never shown.',
      tags: ['directories'],
      auth: 'directories.read',
      responses: { 200: { description: 'The directories.', schema: s.object({ items: s.array(DIRECTORY) }) } },
      handler: async () => {
        const { externalDirectories, publisher } = await services();
        const configured = externalDirectories.settings;
        const pending = new Map<string, number>();
        if (configured.some((d) => d.uses.includes('publish'))) {
          for (const p of await publisher.pending()) pending.set(p.target, (pending.get(p.target) ?? 0) + 1);
        }
        const items = configured.map((d) => ({
          name: d.name,
          url: d.url,
          baseDn: d.baseDn,
          uses: d.uses,
          ...(d.uses.includes('publish') ? { pending: pending.get(d.name) ?? 0 } : {}),
        }));
        return { json: { items } };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/directories/{name}/import',
      summary: 'Import people and groups from a directory now.',
      description:
        "What the hourly import job does, at once: people become users (matched by address), the directory's " +
        'groups become groups with its members, and users who left it are disabled. Refused (409) for a ' +
        'directory without the `import` use, and when the directory lists nobody although users were imported ' +
        'from it before.',
      tags: ['directories'],
      auth: 'directories.manage',
      params: s.object({ name: s.string({ minLength: 1, maxLength: 100 }) }),
      responses: {
        200: { description: 'What the import did.', schema: IMPORT_REPORT },
        404: { description: 'No directory of this name is configured.' },
        409: { description: 'The directory is not configured for `import`, or listed nobody.' },
        502: { description: 'The directory could not be reached or refused the search.' },
      },
      handler: async ({ principal, params }) => {
        const { externalDirectories, directoryImport } = await services();
        const settings = externalDirectories.settings.find((d) => d.name === params.name);
        if (settings === undefined) {
          throw new ServiceError('NOT_FOUND', `No directory named ${JSON.stringify(params.name)} is configured.`);
        }
        const source = externalDirectories.by('import').find((d) => d.name === settings.name);
        if (source === undefined) {
          throw new ServiceError(
            'INVALID_STATE',
            `Directory ${settings.name} is not an import source: add "import" to its "uses" in the configuration.`,
          );
        }
        const report: DirectoryImportReport = await directoryImport.importFrom(actorOf(callerOf(principal)), source);
        return { json: report };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/directories/publish',
      summary: 'Publish certificates to the publish directories now.',
      description:
        'What the directory-publish job does every minute, at once: certificates issued, revoked or expired since ' +
        "its last run, and every publication still pending, are put into or taken out of the users' entries. " +
        'Failures are reported and stay pending for the job.',
      tags: ['directories'],
      auth: 'directories.manage',
      responses: { 200: { description: 'What was published and removed.', schema: PUBLISH_REPORT } },
      handler: async () => {
        const report: PublishReport = await (await services()).publisher.syncDue();
        return { json: report };
      },
    }),
  ];
}
