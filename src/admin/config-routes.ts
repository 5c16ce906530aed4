import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PeerSetting } from '../config/formats.js';
import { assertPacsNodes, normalisePacsNodes, type PacsNodeSetting } from '../config/pacs-nodes.js';
import { InputError } from '../http/schemas.js';
import type { AeConfigStore, PeerRecord } from './ae-config-store.js';
import type { AeDirectory } from './ae-directory.js';
import {
  answer,
  empty,
  failure,
  FAILURES,
  ID_PARAM,
  NAME_PARAM,
  nodeInput,
  UNKNOWN,
} from './api-schemas.js';

export interface ConfigRouteDeps {
  directory: AeDirectory;
  store: AeConfigStore;
  /** The bridge's own AE titles (dicom.aeTitles), its DICOM host and port. */
  local: () => { aeTitles: string[]; host: string; port: number };
  /** Who makes the request (set by the authentication hook). */
  actor: (request: FastifyRequest) => string;
}

type PeerBody = { aeTitle: string; host?: string | null };
type NameParams = { Params: { name: string } };
type IdParams = { Params: { id: number } };

const settingsOf = (peers: readonly PeerRecord[]): PeerSetting[] =>
  peers.map(({ aeTitle, host }) => (host ? { aeTitle, host } : { aeTitle }));

/** A peer from a request body that fits `PeerInput` (a null host is any host). */
const peerOf = ({ aeTitle, host }: PeerBody): PeerSetting =>
  host ? { aeTitle, host } : { aeTitle };

/**
 * A PACS node from a request body that fits its schema, checked by the configuration's own
 * rules (a move destination must be one of our AE titles) and with its defaults filled; the
 * configuration's message ("entry 0 port must be …") is turned into an error naming the field.
 */
export function nodeOf(
  body: Record<string, unknown>,
  ownAeTitles: readonly string[],
): PacsNodeSetting {
  try {
    assertPacsNodes([body]);
    return normalisePacsNodes([body], ownAeTitles)[0]!;
  } catch (error) {
    const message = (error as Error).message.replace(/^entry 0 /, '');
    const field = Object.keys(body).find((key) => message.startsWith(`${key} `));
    if (field === undefined) throw new InputError('body', message);
    throw new InputError(field, message.slice(field.length + 1));
  }
}

/** The answer for a PACS node that does not exist. */
export const nodeNotFound = (name: string) => ({
  error: 'not-found',
  message: `no PACS node named ${name}`,
});

/**
 * The AE configuration over HTTP: the bridge's own AEs (read only), the PACS nodes and the
 * allowed peers (create, read, update, delete; applied to new associations at once), and the
 * audit of changes.
 */
export function configRoutes(app: FastifyInstance, deps: ConfigRouteDeps): void {
  const { directory } = deps;

  app.get(
    '/admin/api/local-aes',
    {
      schema: {
        summary: "The bridge's own AE titles (dicom.aeTitles), DICOM host and port",
        response: {
          200: answer('Local AEs', {
            type: 'object',
            properties: {
              aeTitles: { type: 'array', items: { type: 'string' } },
              host: { type: 'string' },
              port: { type: 'integer' },
            },
          }),
          ...FAILURES,
        },
      },
    },
    async () => deps.local(),
  );

  app.get(
    '/admin/api/nodes',
    {
      schema: {
        summary: 'PACS nodes',
        response: {
          200: answer('Nodes', { type: 'array', items: { $ref: 'PacsNode#' } }),
          ...FAILURES,
        },
      },
    },
    async () => directory.nodes,
  );
  app.get<NameParams>(
    '/admin/api/nodes/:name',
    {
      schema: {
        summary: 'One PACS node',
        params: NAME_PARAM,
        response: { 200: answer('Node', { $ref: 'PacsNode#' }), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request, reply) =>
      deps.store.getNode(request.params.name) ??
      reply.code(404).send(nodeNotFound(request.params.name)),
  );
  app.post<{ Body: Record<string, unknown> }>(
    '/admin/api/nodes',
    {
      schema: {
        summary: 'Add a PACS node',
        body: { $ref: 'PacsNodeInput#' },
        response: {
          201: answer('Added', { $ref: 'PacsNode#' }),
          409: failure('Name taken'),
          ...FAILURES,
        },
      },
    },
    async (request, reply) => {
      const node = nodeOf(request.body, deps.local().aeTitles);
      await directory.change(
        (store) => store.createNode(node, deps.actor(request)),
        () => ({ nodes: [...directory.nodes, node], peers: settingsOf(directory.peers) }),
      );
      return reply.code(201).send(node);
    },
  );
  app.put<NameParams & { Body: Record<string, unknown> }>(
    '/admin/api/nodes/:name',
    {
      schema: {
        summary: 'Replace a PACS node (same name)',
        params: NAME_PARAM,
        body: nodeInput(['aeTitle', 'host', 'port']),
        response: { 200: answer('Changed', { $ref: 'PacsNode#' }), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (request.body.name !== undefined && request.body.name !== name)
        throw new InputError('name', 'a node cannot be renamed: delete it and add it anew');
      const node = nodeOf({ ...request.body, name }, deps.local().aeTitles);
      await directory.change(
        (store) => store.updateNode(name, node, deps.actor(request)),
        () => ({
          nodes: directory.nodes.map((held) => (held.name === name ? node : held)),
          peers: settingsOf(directory.peers),
        }),
      );
      return node;
    },
  );
  app.delete<NameParams>(
    '/admin/api/nodes/:name',
    {
      schema: {
        summary: 'Delete a PACS node',
        params: NAME_PARAM,
        response: { 204: empty('Deleted'), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await directory.change(
        (store) => store.deleteNode(name, deps.actor(request)),
        () => ({
          nodes: directory.nodes.filter((held) => held.name !== name),
          peers: settingsOf(directory.peers),
        }),
      );
      return reply.code(204).send();
    },
  );

  app.get(
    '/admin/api/peers',
    {
      schema: {
        summary: 'Peers allowed to associate (C-STORE, query, retrieve)',
        response: {
          200: answer('Peers', { type: 'array', items: { $ref: 'Peer#' } }),
          ...FAILURES,
        },
      },
    },
    async () => directory.peers,
  );
  app.get<IdParams>(
    '/admin/api/peers/:id',
    {
      schema: {
        summary: 'One peer',
        params: ID_PARAM,
        response: { 200: answer('Peer', { $ref: 'Peer#' }), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request, reply) =>
      deps.store.getPeer(request.params.id) ??
      reply
        .code(404)
        .send({ error: 'not-found', message: `no allowed peer with id ${request.params.id}` }),
  );
  app.post<{ Body: PeerBody }>(
    '/admin/api/peers',
    {
      schema: {
        summary: 'Allow a peer',
        body: { $ref: 'PeerInput#' },
        response: { 201: answer('Added', { $ref: 'Peer#' }), 409: failure('Exists'), ...FAILURES },
      },
    },
    async (request, reply) => {
      const peer = peerOf(request.body);
      const created = await directory.change(
        (store) => store.createPeer(peer, deps.actor(request)),
        () => ({ nodes: directory.nodes, peers: [...settingsOf(directory.peers), peer] }),
      );
      return reply.code(201).send(created);
    },
  );
  app.put<IdParams & { Body: PeerBody }>(
    '/admin/api/peers/:id',
    {
      schema: {
        summary: 'Change a peer',
        params: ID_PARAM,
        body: { $ref: 'PeerInput#' },
        response: { 200: answer('Changed', { $ref: 'Peer#' }), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request) => {
      const { id } = request.params;
      const peer = peerOf(request.body);
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
    },
  );
  app.delete<IdParams>(
    '/admin/api/peers/:id',
    {
      schema: {
        summary: 'Remove a peer',
        params: ID_PARAM,
        response: { 204: empty('Removed'), ...UNKNOWN, ...FAILURES },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await directory.change(
        (store) => store.deletePeer(id, deps.actor(request)),
        () => ({
          nodes: directory.nodes,
          peers: settingsOf(directory.peers.filter((held) => held.id !== id)),
        }),
      );
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: { limit: number } }>(
    '/admin/api/audit',
    {
      schema: {
        summary: 'Changes and refused log-ins, newest first: who, what, before and after',
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: {
          200: answer('Audit entries', {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'integer' },
                at: { type: 'string', format: 'date-time' },
                actor: { type: 'string' },
                action: { type: 'string' },
                entity: { type: 'string' },
                entityKey: { type: 'string' },
                before: { description: 'The entry before the change' },
                after: { description: 'The entry after the change' },
              },
            },
          }),
          ...FAILURES,
        },
      },
    },
    async (request) => deps.store.listAudit(request.query.limit),
  );
}
