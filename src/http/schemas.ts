/**
 * How the HTTP listeners check requests against their routes' JSON schemas, and what a client
 * is told when a request does not fit: a 400 naming the field (`InputError`), never echoing the
 * value it sent. Response schemas describe the answers (for the OpenAPI document); answers are
 * serialised as they are, never cut down to their schema.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions, FastifySchemaValidationError } from 'fastify';
import { jsonType } from '../fse/report.js';

/** A request that does not fit its route: `field` names what is wrong, `problem` says how. */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/**
 * An object schema that refuses fields it does not list, and says so before it says a required
 * one is missing (a misspelt field is named as unknown): the check of names is an `allOf`, which
 * validators run before `required`.
 */
export function closedObject<T extends { properties: Record<string, unknown> }>(schema: T) {
  const names = Object.fromEntries(Object.keys(schema.properties).map((name) => [name, {}]));
  return {
    type: 'object',
    ...schema,
    additionalProperties: false,
    allOf: [{ additionalProperties: false, properties: names }],
  } as const;
}

/** Field names are cut to this length: a client may send a key of any length. */
const MAX_FIELD = 80;

/** What the whole of each part of a request is called when it is the part that is wrong. */
const PARTS: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'params',
  headers: 'headers',
};

/** An Ajv error with the schema and data it came from (the validators run `verbose`). */
type SchemaError = FastifySchemaValidationError & {
  data?: unknown;
  parentSchema?: { description?: string; type?: string; minimum?: number; maximum?: number };
};

/** `accessionNumbers[0].issuer` for the error at `/accessionNumbers/0/issuer`. */
function fieldOf(error: SchemaError, part: string): string {
  const keys = error.instancePath
    .split('/')
    .slice(1)
    .map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
  const child =
    error.keyword === 'required'
      ? error.params.missingProperty
      : error.keyword === 'additionalProperties'
        ? error.params.additionalProperty
        : undefined;
  if (typeof child === 'string') keys.push(child);
  const field = keys.reduce(
    (path, key) => (/^\d+$/.test(key) ? `${path}[${key}]` : path ? `${path}.${key}` : key),
    '',
  );
  return (field || (PARTS[part] ?? part)).slice(0, MAX_FIELD);
}

const article = (type: string): string =>
  type === 'object' ? 'a JSON object' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;

/** What is wrong, in words; the value sent is never quoted (it may be patient data). */
function problemOf(error: SchemaError): string {
  const { params, parentSchema } = error;
  const limit = Number(params.limit);
  switch (error.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'type': {
      // A null allowed stands for "not given": the value must be one of the others.
      const types = String(params.type)
        .split(',')
        .filter((type) => type !== 'null')
        .map(article);
      return `must be ${types.join(' or ')}, not ${jsonType(error.data)}`;
    }
    case 'minimum':
    case 'maximum':
      if (parentSchema?.minimum !== undefined && parentSchema.maximum !== undefined)
        return `must be ${parentSchema.type === 'integer' ? 'an integer' : 'a number'} from ${parentSchema.minimum} to ${parentSchema.maximum}`;
      return `must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${limit}`;
    case 'minLength':
      return limit === 1 ? 'must not be empty' : `must be at least ${limit} characters`;
    case 'maxLength':
      return `must be at most ${limit} characters`;
    case 'minItems':
      return `must hold at least ${limit} ${limit === 1 ? 'entry' : 'entries'}`;
    case 'maxItems':
      return `must hold at most ${limit} entries`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      // pattern, format, anyOf: the schema's description says what is expected.
      return parentSchema?.description
        ? `must be ${parentSchema.description}`
        : (error.message ?? 'is not valid');
  }
}

/**
 * The `schemaErrorFormatter` of the listeners: the error that refused a request, as an
 * `InputError`. Validators stop at the first error, but one inside `anyOf` comes with those of
 * each alternative: the last one is the error of the whole value.
 */
export function inputErrorOf(errors: FastifySchemaValidationError[], part: string): InputError {
  const error = errors[errors.length - 1] as SchemaError;
  return new InputError(fieldOf(error, part), problemOf(error));
}

/**
 * Validators for the listeners: a body is taken as sent (a port given as "104" is refused, not
 * turned into 104; an unknown field is refused, not dropped), while path parameters and query
 * strings, which are text by nature, are converted to the types their schemas give. Errors
 * carry the schema they broke, for `inputErrorOf`.
 */
export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: (externalSchemas, serverOptions) => {
      const pool = AjvCompiler();
      const options = (serverOptions ?? {}) as {
        customOptions?: Record<string, unknown>;
        plugins?: unknown[];
      };
      const build = (custom: Record<string, unknown>) =>
        pool(
          externalSchemas as never,
          {
            ...options,
            customOptions: { ...options.customOptions, verbose: true, ...custom },
          } as never,
        );
      const body = build({ coerceTypes: false, removeAdditional: false });
      const text = build({});
      return (route) => (route.httpPart === 'body' ? body(route) : text(route));
    },
    // Answers go out as JSON.stringify makes them, whatever their schema says.
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The `error` code of the 400 that answers a request not fitting the route's schemas. */
    inputError?: string;
  }
}
