/**
 * A request checked against the type model of episodio-model.ts, as an XML Schema validator
 * would check it against the schemas made from the same model: every element in its namespace,
 * in its sequence's order, as often as allowed; required elements present; simple values of
 * their type; xsi:nil only where nillable. Each failure is a Sender fault naming the element.
 */
import { SCHEMA_NS } from './episodio-contract.js';
import { complexType, sequenceOf, simpleType, type ComplexType } from './episodio-model.js';
import { senderFault, type XmlNode } from './xml-tree.js';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** Attributes an XML Schema validator reads itself, allowed on any element. */
const XSI_HINTS = ['schemaLocation', 'noNamespaceSchemaLocation'];

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const DATE_TIME =
  /^-?(\d{4,})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?|24:00:00(?:\.0+)?)(?:Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** xs:string is taken as it is; the other built-in types collapse white space first. */
function builtinProblem(type: string, text: string): string | undefined {
  const value = text.replace(/[\t\n\r ]+/g, ' ').trim();
  switch (type) {
    case 'xs:string':
      return undefined;
    case 'xs:long':
    case 'xs:int': {
      if (!/^[+-]?\d+$/.test(value)) return 'deve essere un numero intero';
      const n = BigInt(value);
      const [min, max] = type === 'xs:long' ? [LONG_MIN, LONG_MAX] : [INT_MIN, INT_MAX];
      return n < min || n > max ? `è fuori dall'intervallo di ${type}` : undefined;
    }
    case 'xs:dateTime': {
      const match = DATE_TIME.exec(value);
      if (!match) return 'deve essere una data e ora (xs:dateTime)';
      const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
      const days = new Date(Date.UTC(2000, month, 0)).getUTCDate();
      const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
      return day > (month === 2 && !leap ? 28 : days) ? 'non è una data esistente' : undefined;
    }
    case 'xs:base64Binary':
      return BASE64.test(value.replace(/ /g, '')) ? undefined : 'deve essere in base64';
    default:
      throw new Error(`type ${type} is not in the model`);
  }
}

function valueProblem(type: string, text: string): string | undefined {
  const simple = simpleType(type);
  if (!simple) return builtinProblem(type, text);
  return simple.enumeration.includes(text)
    ? undefined
    : `deve essere uno tra ${simple.enumeration.join(', ')}`;
}

/** The element's xsi:nil, after refusing attributes the schema does not allow on it. */
function nilled(node: XmlNode, path: string, nillable: boolean): boolean {
  let nil = false;
  for (const attribute of node.attributes) {
    if (attribute.ns === XSI_NS && XSI_HINTS.includes(attribute.name)) continue;
    if (attribute.ns === XSI_NS && attribute.name === 'nil' && nillable) {
      nil = ['true', '1'].includes(attribute.value.trim());
      continue;
    }
    const name = attribute.ns === '' ? attribute.name : `{${attribute.ns}}${attribute.name}`;
    throw senderFault(`l'attributo ${name} non è previsto in ${path}`);
  }
  if (nil && (node.children.length > 0 || node.text.trim() !== ''))
    throw senderFault(`l'elemento ${path} ha xsi:nil ma non è vuoto`);
  return nil;
}

function checkContent(node: XmlNode, type: ComplexType, path: string): void {
  if (node.text.trim() !== '')
    throw senderFault(`l'elemento ${path} non può contenere testo, solo elementi`);
  const sequence = sequenceOf(type);
  let next = 0;
  for (const particle of sequence) {
    const ns = SCHEMA_NS[particle.schema];
    let count = 0;
    while (next < node.children.length && (particle.many || count === 0)) {
      const child = node.children[next]!;
      if (child.ns !== ns || child.name !== particle.name) break;
      checkElement(child, particle.type, `${path}/${child.name}`, particle.nillable === true);
      next++;
      count++;
    }
    if (particle.required && count === 0)
      throw senderFault(`l'elemento ${particle.name} è obbligatorio in ${path}`);
  }
  const extra = node.children[next];
  if (!extra) return;
  const expected = sequence.find((p) => p.name === extra.name);
  if (!expected) throw senderFault(`l'elemento ${extra.name} non è previsto in ${path}`);
  if (SCHEMA_NS[expected.schema] !== extra.ns)
    throw senderFault(
      `l'elemento ${path}/${extra.name} deve essere nel namespace ${SCHEMA_NS[expected.schema]}`,
    );
  throw senderFault(
    `l'elemento ${extra.name} è ripetuto o fuori ordine in ${path} (ordine previsto: ${sequence
      .map((p) => p.name)
      .join(', ')})`,
  );
}

/** Check `node` as an element of `type` (qualified: `dma:paziente`, `xs:long`...). */
export function checkElement(node: XmlNode, type: string, path: string, nillable = false): void {
  if (nilled(node, path, nillable)) return;
  const complex = complexType(type);
  if (complex) return checkContent(node, complex, path);
  if (node.children.length > 0) throw senderFault(`l'elemento ${path} deve contenere solo testo`);
  const problem = valueProblem(type, node.text);
  if (problem !== undefined) throw senderFault(`l'elemento ${path} ${problem}`);
}

/** Check a root element of the operation (`es:GetDocumento`) against its declaration. */
export function checkRoot(node: XmlNode, root: string): void {
  const type = complexType(root);
  if (!type?.rootElement || node.ns !== SCHEMA_NS[type.schema] || node.name !== type.name)
    throw senderFault(`elemento di richiesta sconosciuto: ${node.name}`);
  checkElement(node, root, node.name);
}
