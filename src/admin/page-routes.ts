import type { FastifyInstance } from 'fastify';
import { ADMIN_PAGE_HTML } from './page-html.js';
import { ADMIN_PAGE_SCRIPT } from './page-script.js';

/** Forbid framing and any script or style from elsewhere (inline style only for the page's own). */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** Not part of the API, nor of its OpenAPI document. */
const PAGE = { schema: { hide: true } };

/** The admin page (/admin/) and its script; both static, without data. */
export function pageRoutes(app: FastifyInstance): void {
  app.get('/admin', PAGE, async (_request, reply) => reply.redirect('/admin/'));
  app.get('/admin/', PAGE, async (_request, reply) =>
    reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(ADMIN_PAGE_HTML),
  );
  app.get('/admin/admin.js', PAGE, async (_request, reply) =>
    reply.headers(SECURITY_HEADERS).type('text/javascript; charset=utf-8').send(ADMIN_PAGE_SCRIPT),
  );
}
