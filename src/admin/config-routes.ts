import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PeerSetting } from '../config/formats.js';
import type { AeConfigStore, PeerRecord } from './ae-config-store.js';
import type { AeDirectory } from './ae-directory.js';
import { AdminInputError, parseNode, parsePeer } from './validation.js';

export interface ConfigRouteDeps {
  directory: AeDirectory;
  store: AeConfigStore;
  /** The bridge's own AE titles (dicom.aeTitles), its DICOM host and port. */
  local: () => { aeTitles: string[]; host: string; port: number };
  /** Who makes the request (set by the authentication hook). */
  actor: (request: FastifyRequest) => string;
}

const settingsOf = (peers: readonly PeerRecord[]): PeerSetting[] =>
  peers.map(({ aeTitle, host }) => (host ? { aeTitle, host } : { aeTitle }));

function peerId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1)
    throw new AdminInputError('id', `must be a positive integer: value was ${JSON.stringify(raw)}`);
  return id;
}

/**
 * The AE configuration over HTTP: the bridge's own AEs (read only), the PACS nodes and the
 * allowed peers (create, read, update, delete; applied to new associations at once), and the
 * audit of changes.
 */
export function configRoutes(app: FastifyInstance, deps: ConfigRouteDeps): void {
  const { directory } = deps;

  app.get('/admin/api/local-aes', async () => deps.local());

  app.get('/admin/api/nodes', async () => directory.nodes);
  app.get<{ Params: { name: string } }>('/admin/api/nodes/:name', async (request, reply) => {
    const node = deps.store.getNode(request.params.name);
    if (!node)
      return reply
        .code(404)
        .send({ error: 'not-found', message: `no PACS node named ${request.params.name}` });
    return node;
  });
  app.post('/admin/api/nodes', async (request, reply) => {
    const node = parseNode(request.body, deps.local().aeTitles);
    await directory.change(
      (store) => store.createNode(node, deps.actor(request)),
      () => ({ nodes: [...directory.nodes, node], peers: settingsOf(directory.peers) }),
    );
    return reply.code(201).send(node);
  });
  app.put<{ Params: { name: string } }>('/admin/api/nodes/:name', async (request) => {
    const { name } = request.params;
    const body = request.body as Record<string, unknown> | null;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      if (body.name !== undefined && body.name !== name)
        throw new AdminInputError('name', 'a node cannot be renamed: delete it and add it anew');
    }
    const node = parseNode(
      typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, name } : body,
      deps.local().aeTitles,
    );
    await directory.change(
      (store) => store.updateNode(name, node, deps.actor(request)),
      () => ({
        nodes: directory.nodes.map((held) => (held.name === name ? node : held)),
        peers: settingsOf(directory.peers),
      }),
    );
    return node;
  });
  app.delete<{ Params: { name: string } }>('/admin/api/nodes/:name', async (request, reply) => {
    const { name } = request.params;
    await directory.change(
      (store) => store.deleteNode(name, deps.actor(request)),
      () => ({
        nodes: directory.nodes.filter((held) => held.name !== name),
        peers: settingsOf(directory.peers),
      }),
    );
    return reply.code(204).send();
  });

  app.get('/admin/api/peers', async () => directory.peers);
  app.get<{ Params: { id: string } }>('/admin/api/peers/:id', async (request, reply) => {
    const peer = deps.store.getPeer(peerId(request.params.id));
    if (!peer)
      return reply
        .code(404)
        .send({ error: 'not-found', message: `no allowed peer with id ${request.params.id}` });
    return peer;
  });
  app.post('/admin/api/peers', async (request, reply) => {
    const peer = parsePeer(request.body);
    const created = await directory.change(
      (store) => store.createPeer(peer, deps.actor(request)),
      () => ({ nodes: directory.nodes, peers: [...settingsOf(directory.peers), peer] }),
    );
    return reply.code(201).send(created);
  });
  app.put<{ Params: { id: string } }>('/admin/api/peers/:id', async (request) => {
    const id = peerId(request.params.id);
    const peer = parsePeer(request.body);
    const { after } = await directory.change(
      (store) => store.updatePeer(id, peer, deps.actor(request)),
      () => ({
        nodes: directory.nodes,
        peers: settingsOf(directory.peers).map((held, i) =>
          directory.peers[i]!.id === id ? peer : held,
        ),
      }),
    );
    return after;
  });
  app.delete<{ Params: { id: string } }>('/admin/api/peers/:id', async (request, reply) => {
    const id = peerId(request.params.id);
    await directory.change(
      (store) => store.deletePeer(id, deps.actor(request)),
      () => ({
        nodes: directory.nodes,
        peers: settingsOf(directory.peers.filter((held) => held.id !== id)),
      }),
    );
    return reply.code(204).send();
  });

  app.get<{ Querystring: { limit?: string } }>('/admin/api/audit', async (request) => {
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new AdminInputError('limit', 'must be an integer from 1 to 1000');
    return deps.store.listAudit(limit);
  });
}
