/** Auto-enrollment: templates assigned to groups, so that every member holds a certificate from them. */
import { AutoEnrollment, ServiceError } from '@sealpost/services';
import { defineRoute, type Route } from '../http/router.ts';
import { s } from '../http/schema.ts';
import { actorOf, callerOf, type Services, type ServicesProvider } from '../services.ts';

const enrollments = new WeakMap<Services, AutoEnrollment>();

/**
 * The process's auto-enrollment service, made on first use with its membership hook attached (so
 * a joining member is enrolled at once; failures are logged, and the periodic job retries them).
 */
export function enrollmentOf(services: Services): AutoEnrollment {
  let enrollment = enrollments.get(services);
  if (enrollment === undefined) {
    enrollment = new AutoEnrollment(services);
    enrollment.attach((failure) => services.log.warn('auto-enrollment failed', { ...failure }));
    enrollments.set(services, enrollment);
  }
  return enrollment;
}

const PARAMS = s.object({
  name: s.string({ minLength: 1, maxLength: 100 }),
  template: s.string({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
});

export function enrollmentRoutes(services: ServicesProvider): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/groups/{name}/templates',
      summary: "The templates assigned to a group (its members' auto-enrollment).",
      tags: ['enrollment'],
      auth: 'user.read',
      params: s.object({ name: s.string({ minLength: 1, maxLength: 100 }) }),
      responses: { 200: { description: 'Template names, sorted.', schema: s.object({ items: s.array(s.string()) }) } },
      handler: async ({ params }) => ({ json: { items: await enrollmentOf(await services()).list(params.name) } }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/groups/{name}/templates/{template}',
      summary: 'Assign a template to a group: every member gets a certificate from it, now and when joining.',
      description:
        'The current members are enrolled before the response (server-generated keys; the template must be ' +
        'exportable). A member whose issuance fails is retried by the periodic auto-enrollment job.',
      tags: ['enrollment'],
      auth: 'certificate.issue',
      params: PARAMS,
      responses: { 204: { description: 'Assigned (or already assigned); current members enrolled.' } },
      handler: async ({ params, principal, log }) => {
        const enrollment = enrollmentOf(await services());
        const actor = actorOf(callerOf(principal));
        const { groupId } = await enrollment.assign(actor, params.name, params.template);
        const report = await enrollment.enrollMissing({ groupId }, actor);
        for (const failure of report.failed) log.warn('auto-enrollment failed', { ...failure });
        return {};
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/groups/{name}/templates/{template}',
      summary: 'End an assignment; certificates already issued stay valid.',
      tags: ['enrollment'],
      auth: 'certificate.issue',
      params: PARAMS,
      responses: { 204: { description: 'Unassigned.' }, 404: { description: 'No such group or assignment.' } },
      handler: async ({ params, principal }) => {
        const removed = await enrollmentOf(await services()).unassign(
          actorOf(callerOf(principal)),
          params.name,
          params.template,
        );
        if (!removed) {
          throw new ServiceError('NOT_FOUND', `Template ${params.template} is not assigned to group ${params.name}.`);
        }
        return {};
      },
    }),
  ];
}
