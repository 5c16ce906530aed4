import {
  type Charset,
  type Delimiters,
  declaredCharset,
  decodeBytes,
  isControlChar,
  unescapeValue,
} from './encoding.js';
import { Hl7Error, Hl7ErrorCode } from './errors.js';

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;
const LINE_BREAK = /\r\n|\r|\n/;

/** HL7's explicit null (`""`) reads as an empty value. */
function leaf(raw: string, delimiters: Delimiters, charset: Charset): string {
  return raw === '""' ? '' : unescapeValue(raw, delimiters, charset);
}

/** One repetition of a field: components, each of subcomponents. */
export class Hl7Repetition {
  readonly raw: string;
  readonly #delimiters: Delimiters;
  readonly #charset: Charset;
  readonly #literal: boolean;

  constructor(raw: string, delimiters: Delimiters, charset: Charset, literal = false) {
    this.raw = raw;
    this.#delimiters = delimiters;
    this.#charset = charset;
    this.#literal = literal;
  }

  /** Component `index` (1-based), subcomponent `sub`, unescaped; '' when absent. */
  component(index: number, sub = 1): string {
    if (this.#literal) return index === 1 && sub === 1 ? this.raw : '';
    const component = this.raw.split(this.#delimiters.component)[index - 1];
    if (component === undefined) return '';
    const subcomponent = component.split(this.#delimiters.subcomponent)[sub - 1];
    return subcomponent === undefined ? '' : leaf(subcomponent, this.#delimiters, this.#charset);
  }

  /** Every component's first subcomponent, unescaped. */
  components(): string[] {
    if (this.#literal) return [this.raw];
    return this.raw
      .split(this.#delimiters.component)
      .map((c) =>
        leaf(c.split(this.#delimiters.subcomponent)[0]!, this.#delimiters, this.#charset),
      );
  }

  /** The subcomponents of component `index`, unescaped. */
  subcomponents(index: number): string[] {
    if (this.#literal) return index === 1 ? [this.raw] : [];
    const component = this.raw.split(this.#delimiters.component)[index - 1];
    if (component === undefined) return [];
    return component
      .split(this.#delimiters.subcomponent)
      .map((s) => leaf(s, this.#delimiters, this.#charset));
  }
}

/** A field as received (escaped); read through its repetitions and components. */
export class Hl7Field {
  readonly raw: string;
  readonly #delimiters: Delimiters;
  readonly #charset: Charset;
  readonly #literal: boolean;

  constructor(raw: string, delimiters: Delimiters, charset: Charset, literal = false) {
    this.raw = raw;
    this.#delimiters = delimiters;
    this.#charset = charset;
    this.#literal = literal;
  }

  /** Absent, empty or HL7 null. */
  get isEmpty(): boolean {
    return this.raw === '' || this.raw === '""';
  }

  /** The repetitions (none for an empty field). */
  repetitions(): Hl7Repetition[] {
    if (this.raw === '') return [];
    if (this.#literal) return [new Hl7Repetition(this.raw, this.#delimiters, this.#charset, true)];
    return this.raw
      .split(this.#delimiters.repetition)
      .map((raw) => new Hl7Repetition(raw, this.#delimiters, this.#charset));
  }

  #first(): Hl7Repetition {
    const first = this.#literal ? this.raw : this.raw.split(this.#delimiters.repetition)[0]!;
    return new Hl7Repetition(first, this.#delimiters, this.#charset, this.#literal);
  }

  /** Component `index` (1-based), subcomponent `sub` of the first repetition. */
  component(index: number, sub = 1): string {
    return this.#first().component(index, sub);
  }

  /** The components of the first repetition (see `Hl7Repetition.components`). */
  components(): string[] {
    return this.raw === '' ? [] : this.#first().components();
  }

  /** The first component of the first repetition, unescaped. */
  get value(): string {
    return this.component(1);
  }
}

/** A segment: its name and fields, numbered as HL7 numbers them (MSH-1 is the separator). */
export class Hl7Segment {
  readonly name: string;
  readonly delimiters: Delimiters;
  readonly charset: Charset;
  /** Index n holds field n, escaped as received; index 0 holds the name. */
  readonly #fields: readonly string[];

  constructor(fields: readonly string[], delimiters: Delimiters, charset: Charset) {
    this.name = fields[0] ?? '';
    this.#fields = fields;
    this.delimiters = delimiters;
    this.charset = charset;
  }

  /** Field `index` (1-based); an empty field when the segment is shorter. */
  field(index: number): Hl7Field {
    const literal = this.name === 'MSH' && (index === 1 || index === 2);
    return new Hl7Field(this.#fields[index] ?? '', this.delimiters, this.charset, literal);
  }

  /** The number of the last field present. */
  get fieldCount(): number {
    return this.#fields.length - 1;
  }
}

/** What MSH says about a message, unescaped. Applications and facilities: see `hdText`. */
export interface MessageHeader {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-7 as received (HL7 DTM). */
  dateTime: string;
  messageType: string;
  triggerEvent: string;
  messageStructure: string;
  controlId: string;
  processingId: string;
  version: string;
  /** MSH-18, first repetition; '' when absent. */
  characterSet: string;
}

/**
 * The text of an HD (hierarchic designator) field such as MSH-3/MSH-4: its namespace id, or
 * its universal id when the sender gives only that.
 */
export function hdText(field: Hl7Field): string {
  return field.component(1) || field.component(2);
}

function headerOf(msh: Hl7Segment): MessageHeader {
  return {
    sendingApplication: hdText(msh.field(3)),
    sendingFacility: hdText(msh.field(4)),
    receivingApplication: hdText(msh.field(5)),
    receivingFacility: hdText(msh.field(6)),
    dateTime: msh.field(7).value,
    messageType: msh.field(9).component(1),
    triggerEvent: msh.field(9).component(2),
    messageStructure: msh.field(9).component(3),
    controlId: msh.field(10).value,
    processingId: msh.field(11).value,
    version: msh.field(12).value,
    characterSet: msh.field(18).value,
  };
}

/** A parsed HL7 v2 message. */
export class Hl7Message {
  readonly segments: readonly Hl7Segment[];
  readonly header: MessageHeader;
  /** How the message bytes were decoded; its ACK is encoded the same way. */
  readonly charset: Charset;

  constructor(segments: readonly Hl7Segment[], charset: Charset) {
    this.segments = segments;
    this.charset = charset;
    this.header = headerOf(this.msh);
  }

  get msh(): Hl7Segment {
    return this.segments[0]!;
  }

  get delimiters(): Delimiters {
    return this.msh.delimiters;
  }

  /** The first segment with that name. */
  segment(name: string): Hl7Segment | undefined {
    return this.segments.find((segment) => segment.name === name);
  }

  /** Every segment with that name, in order. */
  segmentsNamed(name: string): Hl7Segment[] {
    return this.segments.filter((segment) => segment.name === name);
  }

  /** Field `index` of the first segment named `segment` (empty when there is none). */
  field(segment: string, index: number): Hl7Field {
    const found = this.segment(segment);
    return found ? found.field(index) : new Hl7Field('', this.delimiters, this.charset);
  }
}

/**
 * A character a sender may choose as a delimiter: not a letter, digit, space or control
 * character. A control character would be echoed raw into the ACK, where a VT or FS breaks
 * its MLLP framing.
 */
function isDelimiterChar(char: string): boolean {
  return char.length === 1 && !/[A-Za-z0-9\s]/.test(char) && !isControlChar(char);
}

/** Read the delimiters and fields of an MSH line; throws `Hl7Error` (AR) naming the problem. */
function parseMshLine(line: string): { fields: string[]; delimiters: Delimiters } {
  if (!line.startsWith('MSH'))
    throw new Hl7Error(
      line.startsWith('BHS') || line.startsWith('FHS')
        ? 'batch messages (FHS/BHS) are not supported'
        : 'message does not start with an MSH segment',
      { code: Hl7ErrorCode.SegmentSequenceError },
    );
  const field = line[3] ?? '';
  if (!isDelimiterChar(field))
    throw new Hl7Error(`invalid field separator ${JSON.stringify(field)}`, {
      location: { segment: 'MSH', field: 1 },
      code: Hl7ErrorCode.DataTypeError,
    });
  const parts = line.split(field);
  const encoding = parts[1] ?? '';
  const chars = [...encoding];
  // A fifth character (truncation, v2.7) may follow the four the bridge uses.
  if (
    (chars.length !== 4 && chars.length !== 5) ||
    !chars.every(isDelimiterChar) ||
    new Set([field, ...chars]).size !== chars.length + 1
  )
    throw new Hl7Error(
      `invalid encoding characters ${JSON.stringify(encoding)}: expected 4 distinct separators such as ^~\\&`,
      { location: { segment: 'MSH', field: 2 }, code: Hl7ErrorCode.DataTypeError },
    );
  const [component, repetition, escape, subcomponent] = chars as [string, string, string, string];
  return {
    fields: ['MSH', field, encoding, ...parts.slice(2)],
    delimiters: { field, component, repetition, escape, subcomponent },
  };
}

function firstLine(text: string): string {
  return text.split(LINE_BREAK, 1)[0] ?? '';
}

function stripBom(bytes: Uint8Array): Uint8Array {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
}

function decode(input: Uint8Array | string): { text: string; charset: Charset } {
  if (typeof input === 'string') {
    const declared = charsetFromLine(firstLine(input.trimStart()));
    return { text: input, charset: declared === 'ascii' ? 'utf-8' : declared };
  }
  const bytes = stripBom(input);
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return decodeBytes(bytes, charsetFromLine(firstLine(head.trimStart())));
}

function charsetFromLine(line: string): Charset | 'ascii' {
  const { fields, delimiters } = parseMshLine(line);
  const msh18 = new Hl7Segment(fields, delimiters, 'utf-8').field(18).value;
  return declaredCharset(msh18);
}

/**
 * Parse an HL7 v2 message: the delimiters from MSH-1/MSH-2, the bytes decoded as MSH-18
 * declares, segments separated by CR (LF and CRLF accepted too). Throws `Hl7Error` (AR) when
 * there is no MSH first, the encoding characters or character set are invalid, a segment has
 * no valid name, a second MSH follows, or MSH-9 (message type) or MSH-10 (control id) is empty.
 */
export function parseHl7(input: Uint8Array | string): Hl7Message {
  const blank = typeof input === 'string' ? input.trim() === '' : !input.some((b) => b > 0x20);
  if (blank) throw new Hl7Error('empty message', { code: Hl7ErrorCode.SegmentSequenceError });
  const { text, charset } = decode(input);
  const lines = text.split(LINE_BREAK).filter((line) => line.trim() !== '');
  const { fields, delimiters } = parseMshLine(lines[0]!);
  const segments = [new Hl7Segment(fields, delimiters, charset)];
  for (let i = 1; i < lines.length; i++) {
    const parts = lines[i]!.split(delimiters.field);
    const name = parts[0]!;
    if (!SEGMENT_NAME.test(name))
      throw new Hl7Error(`segment ${i + 1} does not start with a segment name`, {
        code: Hl7ErrorCode.SegmentSequenceError,
      });
    if (name === 'MSH')
      throw new Hl7Error('more than one message (MSH segment) in one frame', {
        location: { segment: 'MSH', sequence: 2 },
        code: Hl7ErrorCode.SegmentSequenceError,
      });
    segments.push(new Hl7Segment(parts, delimiters, charset));
  }
  const message = new Hl7Message(segments, charset);
  if (message.header.messageType === '')
    throw new Hl7Error('message type is missing', {
      location: { segment: 'MSH', field: 9 },
      code: Hl7ErrorCode.RequiredFieldMissing,
    });
  if (message.header.controlId === '')
    throw new Hl7Error('message control id is missing', {
      location: { segment: 'MSH', field: 10 },
      code: Hl7ErrorCode.RequiredFieldMissing,
    });
  return message;
}

/**
 * The MSH segment of bytes that could not be parsed as a whole (too large, or invalid further
 * on), so that they can still be answered; `undefined` when even MSH is unreadable.
 */
export function readHeader(input: Uint8Array): { msh: Hl7Segment; charset: Charset } | undefined {
  try {
    const bytes = stripBom(input);
    const start = bytes.findIndex((byte) => byte > 0x20);
    if (start < 0) return undefined;
    let end = bytes.findIndex((byte, i) => i > start && (byte === 0x0d || byte === 0x0a));
    if (end < 0) end = bytes.length;
    const line = bytes.subarray(start, end);
    let declared: Charset | 'ascii';
    try {
      declared = charsetFromLine(Buffer.from(line).toString('latin1'));
    } catch {
      declared = 'ascii';
    }
    let decoded: { text: string; charset: Charset };
    try {
      decoded = decodeBytes(line, declared);
    } catch {
      decoded = decodeBytes(line, 'latin1');
    }
    const { fields, delimiters } = parseMshLine(decoded.text);
    return { msh: new Hl7Segment(fields, delimiters, decoded.charset), charset: decoded.charset };
  } catch {
    return undefined;
  }
}
