import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSchema } from '../../../src/config/schema.js';
import {
  BEGIN_MARKER,
  END_MARKER,
  REFERENCE_DOCUMENT,
  configReference,
  withReference,
} from '../../../scripts/config-reference.js';

/*
 * docs/configuration.md carries the configuration reference generated from the schema: it must
 * be the one the schema gives today.
 */

interface SchemaNode {
  _cvtProperties?: Record<string, SchemaNode>;
  env?: string;
  default?: unknown;
}

/** Every key of the schema with its environment variable and default. */
function schemaKeys(): Map<string, { env: string | undefined; value: string }> {
  const keys = new Map<string, { env: string | undefined; value: string }>();
  const walk = (node: SchemaNode, path: string[]): void => {
    for (const [name, child] of Object.entries(node._cvtProperties ?? {})) {
      if (child._cvtProperties) walk(child, [...path, name]);
      else
        keys.set([...path, name].join('.'), {
          env: child.env,
          value: JSON.stringify(child.default),
        });
    }
  };
  walk(createSchema({}).getSchema() as SchemaNode, []);
  return keys;
}

describe('the configuration reference in docs/configuration.md', () => {
  const document = readFileSync(REFERENCE_DOCUMENT, 'utf8');

  it('is the one the schema gives: regenerated, it is unchanged', () => {
    expect(document).toContain(BEGIN_MARKER);
    expect(document).toContain(END_MARKER);
    expect(
      withReference(document, configReference()) === document,
      'docs/configuration.md is out of date with the configuration schema: run `npm run docs:config` and commit the result',
    ).toBe(true);
  });

  it('lists every key once, with its environment variable and default', () => {
    const generated = document.slice(document.indexOf(BEGIN_MARKER), document.indexOf(END_MARKER));
    const rows = new Map<string, { env: string; value: string }>();
    for (const match of generated.matchAll(/^\| `([\w.]+)` \| `(\w+)` \| `([^`]*)`/gm)) {
      expect(rows.has(match[1]!), `${match[1]} is listed twice`).toBe(false);
      rows.set(match[1]!, { env: match[2]!, value: match[3]! });
    }
    const keys = schemaKeys();
    expect(keys.size).toBeGreaterThan(100);
    for (const [key, { env, value }] of keys)
      expect(rows.get(key), `${key}: its row in the reference`).toEqual({ env, value });
    expect([...rows.keys()].sort()).toEqual([...keys.keys()].sort());
    expect(rows.get('queryRetrieve.transcoding')).toEqual({
      env: 'BRIDGE_TRANSCODING',
      value: '"lossless"',
    });
  });

  it('keeps the prose around the generated part', () => {
    const replaced = withReference(document, 'REFERENCE');
    expect(replaced.startsWith(document.slice(0, document.indexOf(BEGIN_MARKER)))).toBe(true);
    expect(replaced.endsWith(document.slice(document.indexOf(END_MARKER)))).toBe(true);
    expect(replaced).toContain(`${BEGIN_MARKER}\n\nREFERENCE\n\n${END_MARKER}`);
    expect(() => withReference('# no markers', 'REFERENCE')).toThrow(/lacks the markers/);
  });
});
