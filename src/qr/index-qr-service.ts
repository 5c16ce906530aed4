import type { Readable } from 'node:stream';
import {
  QR_KEYS,
  QR_KEYS_BY_TAG,
  getText,
  type Identifier,
  type IdentifierElement,
} from '../dicom/identifier.js';
import { splitPart10 } from '../dicom/part10-stream.js';
import { sharedTranscoder, type Transcoder } from '../dicom/transcoder.js';
import {
  QrRefusal,
  type MoveDestination,
  type QrRequest,
  type QrService,
  type RetrieveInstance,
  type Transcoding,
} from '../dimse/qr-service.js';
import { Status } from '../dimse/status.js';
import { QrQueryError, type MatchKeys, type QrLevel, type QrMatch } from '../index/qr-query.js';
import type { StudyIndex } from '../index/study-index.js';
import type { ObjectStore } from '../storage/object-store.js';
import { refuseIncomplete, scopeOf, type QrScopeSettings } from './answer-scope.js';

export interface QrServiceOptions extends QrScopeSettings {
  moveDestinations: MoveDestination[];
  maxConcurrentRetrieves: number;
  maxMatches: number;
  /** `uncompressed`, an earlier name, reads as `lossless`. */
  transcoding: 'none' | 'lossless' | 'uncompressed';
  /** Decompress lossy-compressed images too (default false). */
  decompressLossy?: boolean;
  sendTimeoutMs: number;
  /** Where conversions run; the process's shared transcoder by default. */
  transcoder?: Pick<Transcoder, 'convert'>;
}

const LEVELS: ReadonlySet<string> = new Set(['PATIENT', 'STUDY', 'SERIES', 'IMAGE']);
const QUERY_RETRIEVE_LEVEL = QR_KEYS.QueryRetrieveLevel!.tag;
const SPECIFIC_CHARACTER_SET = QR_KEYS.SpecificCharacterSet!.tag;
const ISSUER_OF_ACCESSION_SEQUENCE = QR_KEYS.IssuerOfAccessionNumberSequence!.tag;
const RETRIEVE_AE_TITLE = QR_KEYS.RetrieveAETitle!.tag;
/** Answered by the SCP itself, never matched against the index. */
const NOT_MATCHED = new Set([QUERY_RETRIEVE_LEVEL, SPECIFIC_CHARACTER_SET, RETRIEVE_AE_TITLE]);

function levelOf(identifier: Identifier): QrLevel {
  const level = getText(identifier, 'QueryRetrieveLevel')?.trim();
  if (!level || !LEVELS.has(level))
    throw new QrRefusal(
      Status.IdentifierDoesNotMatchSopClass,
      `QueryRetrieveLevel ${JSON.stringify(level ?? '')} is not PATIENT, STUDY, SERIES or IMAGE`,
    );
  return level as QrLevel;
}

/** The identifier's keys as the index matches them; unknown keys are left out. */
function matchKeysOf(identifier: Identifier): { keys: Record<string, string>; asked: number[] } {
  const keys: Record<string, string> = {};
  const asked: number[] = [];
  for (const element of identifier.values()) {
    if (NOT_MATCHED.has(element.tag)) continue;
    if (element.tag === ISSUER_OF_ACCESSION_SEQUENCE) {
      const items = Array.isArray(element.value) ? element.value : [];
      const issuer = items[0] ? getText(items[0], 'LocalNamespaceEntityID') : undefined;
      keys.IssuerOfAccessionNumber = issuer ?? '';
      asked.push(element.tag);
      continue;
    }
    const known = QR_KEYS_BY_TAG.get(element.tag);
    if (!known || typeof element.value !== 'string') continue;
    keys[known.keyword] = element.value;
    asked.push(element.tag);
  }
  return { keys, asked };
}

function refusalOf(error: unknown): unknown {
  if (error instanceof QrQueryError)
    return new QrRefusal(Status.IdentifierDoesNotMatchSopClass, error.message);
  return error;
}

/**
 * Answers query/retrieve requests from the bridge's own index and storage: C-FIND matches
 * shaped as response identifiers (the keys asked, and the AE to retrieve from), and the stored
 * instances a C-MOVE / C-GET selects, read back byte for byte.
 */
export class IndexQrService implements QrService {
  readonly transcoding: Transcoding;
  readonly sendTimeoutMs: number;
  #index: StudyIndex;
  #store: ObjectStore;
  #options: QrServiceOptions;
  #retrieving = 0;

  constructor(index: StudyIndex, store: ObjectStore, options: QrServiceOptions) {
    this.#index = index;
    this.#store = store;
    this.#options = options;
    const transcoder = options.transcoder;
    this.transcoding = {
      policy: {
        mode: options.transcoding === 'none' ? 'none' : 'lossless',
        decompressLossy: options.decompressLossy ?? false,
      },
      convert: (dataset, from, to, signal) =>
        (transcoder ?? sharedTranscoder()).convert(dataset, from, to, { signal }),
    };
    this.sendTimeoutMs = options.sendTimeoutMs;
  }

  find(request: QrRequest, identifier: Identifier): Identifier[] {
    const level = levelOf(identifier);
    const { keys, asked } = matchKeysOf(identifier);
    let matches: QrMatch[];
    try {
      matches = this.#index.query(
        request.model,
        level,
        keys as MatchKeys,
        this.#options.maxMatches + 1,
        scopeOf(this.#options),
      );
    } catch (error) {
      throw refusalOf(error);
    }
    if (matches.length > this.#options.maxMatches)
      throw new QrRefusal(
        Status.OutOfResources,
        `more than ${this.#options.maxMatches} matches; narrow the query`,
      );
    return matches.map((match) => this.#answer(identifier, level, asked, match, request.calledAe));
  }

  #answer(
    identifier: Identifier,
    level: QrLevel,
    asked: number[],
    match: QrMatch,
    retrieveAe: string,
  ): Identifier {
    const answer: Identifier = new Map();
    const put = (element: IdentifierElement): void => void answer.set(element.tag, element);
    put({ tag: QUERY_RETRIEVE_LEVEL, vr: 'CS', value: level });
    put({ tag: RETRIEVE_AE_TITLE, vr: 'AE', value: retrieveAe });
    for (const tag of asked) {
      if (tag === ISSUER_OF_ACCESSION_SEQUENCE) {
        const issuer = match.IssuerOfAccessionNumber ?? '';
        const { tag: entityTag, vr } = QR_KEYS.LocalNamespaceEntityID!;
        put({
          tag,
          vr: 'SQ',
          value: issuer ? [new Map([[entityTag, { tag: entityTag, vr, value: issuer }]])] : [],
        });
        continue;
      }
      const { keyword, vr } = QR_KEYS_BY_TAG.get(tag)!;
      put({ tag, vr, value: match[keyword] ?? '' });
    }
    void identifier;
    return answer;
  }

  select(request: QrRequest, identifier: Identifier): RetrieveInstance[] {
    const level = levelOf(identifier);
    const { keys } = matchKeysOf(identifier);
    try {
      const scope = scopeOf(this.#options);
      const items = this.#index.instancesFor(request.model, level, keys as MatchKeys, scope);
      refuseIncomplete(this.#index, items, scope);
      return items.map((item) => ({
        sopClassUid: item.sopClassUid,
        sopInstanceUid: item.sopInstanceUid,
        transferSyntaxUid: item.transferSyntaxUid,
        open: async () => {
          const { meta, dataset } = await splitPart10(
            (await this.#store.read(item.storageKey)) as Readable,
          );
          if (meta.transferSyntaxUid !== item.transferSyntaxUid)
            throw new Error(
              `stored object ${item.storageKey} is in ${meta.transferSyntaxUid}, indexed as ${item.transferSyntaxUid}`,
            );
          return dataset;
        },
      }));
    } catch (error) {
      throw refusalOf(error);
    }
  }

  moveDestination(aeTitle: string): MoveDestination | undefined {
    return this.#options.moveDestinations.find((d) => d.aeTitle === aeTitle);
  }

  acquireRetrieveSlot(): (() => void) | undefined {
    if (this.#retrieving >= this.#options.maxConcurrentRetrieves) return undefined;
    this.#retrieving++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#retrieving--;
    };
  }
}
