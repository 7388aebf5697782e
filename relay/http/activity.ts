/**
 * A company's stored demo activity for the account signals and the engagement search: the raw
 * events (bytes and signature header), which the app verifies itself with the connection's
 * secrets; newest first by when the viewing happened, every page linked from the one before.
 */
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { App, PluginOptions } from './deps.js';
import { BEARER, bearerApi } from './auth.js';
import { ActivityEvent, CompanyRow, errors, limit, optionalText, optionalTime, unlessEmpty } from './schemas.js';
import { HttpError, nextLink } from './util.js';

const DOMAIN_ERROR = 'domain must be a company domain, e.g. acme.co.uk';

export const activityPlugin: FastifyPluginAsync<PluginOptions> = async (fastify, { deps, budget }) => {
  const app = fastify as unknown as App;
  bearerApi(app, deps, budget);
  app.get(
    '/v1/activity',
    {
      schema: {
        summary: "Demo activity (stored raw events) of a company, one of its people, or the whole account, newest first by when it happened",
        description:
          'Next page: `before={last id}`, also given in `Link: <…>; rel="next"` while there is more. `since`/`until` bound the viewing time; `domain` narrows it to one company and `person` (with `domain`) to one viewer; without `domain`, the whole account\'s activity in the range.',
        tags: ['activity'],
        security: BEARER,
        querystring: z
          .object({
            domain: unlessEmpty(
              z
                .string({ error: DOMAIN_ERROR })
                .transform((d) => d.trim().toLowerCase())
                .refine((d) => /^[a-z0-9.-]{1,253}$/.test(d) && d.includes('.'), { error: DOMAIN_ERROR }),
            ),
            person: optionalText('person', 320).describe("one viewer of that company: the email lowercased without its +tag (the activity index's person)"),
            since: optionalTime('since'),
            until: optionalTime('until'),
            limit: limit(1000, 1000),
            before: optionalText('before', 200),
          })
          .refine((q) => q.person === undefined || q.domain !== undefined, { error: 'person needs domain: a viewer is read within their company', path: ['person'] }),
        response: { 200: z.array(ActivityEvent), ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      // One row more than asked says whether there is a next page.
      const rows = await deps.services.reads.activity(request.account.id, { domain: q.domain, person: q.person, sinceMs: q.since, untilMs: q.until, limit: q.limit + 1, before: q.before });
      if (rows === null) throw new HttpError(400, `before: no demo activity ${q.before}${q.domain ? ` of ${q.domain}` : ''} in this account`);
      const page = rows.slice(0, q.limit);
      if (rows.length > q.limit) reply.header('Link', nextLink(request.url, page[page.length - 1].id));
      return page;
    },
  );

  app.get(
    '/v1/activity/companies',
    {
      schema: {
        summary: "The account's companies by their last live demo session, newest first",
        description:
          '`since`/`until` bound that last session (`until` excluded): the companies quiet since `until`. Next page: `before={last domain}`, also given in `Link: <…>; rel="next"` while there is more. Test sessions never move a company\'s last session.',
        tags: ['activity'],
        security: BEARER,
        querystring: z.object({
          since: optionalTime('since'),
          until: optionalTime('until'),
          limit: limit(100, 1000),
          before: optionalText('before', 253),
        }),
        response: { 200: z.array(CompanyRow), ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const rows = await deps.services.reads.companies(request.account.id, { sinceMs: q.since, untilMs: q.until, limit: q.limit + 1, before: q.before });
      if (rows === null) throw new HttpError(400, `before: no company ${q.before} in this account`);
      const page = rows.slice(0, q.limit);
      if (rows.length > q.limit) reply.header('Link', nextLink(request.url, page[page.length - 1].domain));
      return page;
    },
  );
};
