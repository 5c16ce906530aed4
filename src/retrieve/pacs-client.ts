import type { Logger } from 'pino';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import { getText, identifierOf, type Identifier } from '../dicom/identifier.js';
import { QR_SOP_CLASSES, VERIFICATION_SOP_CLASS } from '../dicom/sop-class.js';
import { TransferSyntax } from '../dicom/transfer-syntax.js';
import {
  AssociationClosedError,
  openAssociation,
  type ClientAssociation,
  useAssociation,
  type ClientOptions,
  type IncomingStoreHandler,
} from '../dimse/client.js';
import type { SubOperationCounts } from '../dimse/errors.js';
import { QR_TRANSFER_SYNTAXES, cFind, cGet, cMove, type RetrieveOptions } from '../dimse/qr-scu.js';
import { Status } from '../dimse/status.js';

/** A study as the PACS describes it at study level. */
export interface StudyMatch {
  studyInstanceUid: string;
  accessionNumber: string | undefined;
  /** LocalNamespaceEntityID of IssuerOfAccessionNumberSequence, when the PACS returns it. */
  issuerOfAccessionNumber: string | undefined;
  patientId: string | undefined;
  issuerOfPatientId: string | undefined;
  studyDate: string | undefined;
  modalitiesInStudy: string[];
  /** NumberOfStudyRelatedInstances; undefined when the PACS does not give it. */
  numberOfStudyRelatedInstances: number | undefined;
  numberOfStudyRelatedSeries: number | undefined;
  sopClassesInStudy: string[];
}

export interface SeriesMatch {
  seriesInstanceUid: string;
  modality: string | undefined;
  seriesNumber: number | undefined;
  numberOfSeriesRelatedInstances: number | undefined;
}

export interface InstanceMatch {
  sopInstanceUid: string;
  sopClassUid: string | undefined;
  instanceNumber: number | undefined;
}

export interface StudyQuery {
  accessionNumber?: string;
  patientId?: string;
  issuerOfPatientId?: string;
  studyInstanceUid?: string;
}

/** The PACS could not be reached (connection refused, timed out, reset during set-up). */
export class PacsUnreachableError extends Error {
  override readonly name = 'PacsUnreachableError';
}

/**
 * Transfer syntaxes proposed for C-GET sub-operations, one presentation context each, so that
 * the PACS sends an instance in the syntax it has stored instead of decompressing it.
 */
const GET_TRANSFER_SYNTAXES = [
  TransferSyntax.JpegLosslessSv1,
  TransferSyntax.JpegLossless,
  TransferSyntax.JpegBaseline,
  TransferSyntax.JpegExtended,
  TransferSyntax.JpegLsLossless,
  TransferSyntax.JpegLsNearLossless,
  TransferSyntax.Jpeg2000Lossless,
  TransferSyntax.Jpeg2000,
  TransferSyntax.Rle,
  TransferSyntax.DeflatedExplicitVrLittleEndian,
  TransferSyntax.ExplicitVrBigEndian,
  TransferSyntax.ExplicitVrLittleEndian,
  TransferSyntax.ImplicitVrLittleEndian,
];
/** PS3.8 allows 128 presentation contexts per association. */
const MAX_CONTEXTS = 128;

/**
 * One context per storage SOP class and transfer syntax, within the 128-context limit: with
 * many SOP classes, each keeps the uncompressed syntaxes and as many compressed ones as fit.
 */
export function storageContexts(sopClasses: string[]): ClientOptions['contexts'] {
  if (sopClasses.length === 0) return [];
  const perClass = Math.floor((MAX_CONTEXTS - 1) / sopClasses.length);
  if (perClass < 1)
    throw new Error(
      `C-GET of ${sopClasses.length} SOP classes needs more than 128 presentation contexts`,
    );
  const uncompressed = GET_TRANSFER_SYNTAXES.slice(-2);
  const syntaxes =
    perClass >= GET_TRANSFER_SYNTAXES.length
      ? GET_TRANSFER_SYNTAXES
      : [...GET_TRANSFER_SYNTAXES.slice(0, Math.max(0, perClass - 2)), ...uncompressed].slice(
          -perClass,
        );
  return sopClasses.flatMap((abstractSyntax) =>
    syntaxes.map((ts) => ({ abstractSyntax, transferSyntaxes: [ts] })),
  );
}

function integerOf(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text.trim());
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

function listOf(text: string | undefined): string[] {
  return text ? text.split('\\').filter((v) => v !== '') : [];
}

function issuerOfAccession(match: Identifier): string | undefined {
  const items = match.get(0x00080051)?.value;
  if (!Array.isArray(items) || items.length === 0) return undefined;
  return getText(items[0]!, 'LocalNamespaceEntityID') || undefined;
}

function isConnectionFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  if (
    code &&
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EPIPE',
    ].includes(code)
  )
    return true;
  const message = (error as Error).message ?? '';
  return (
    message.startsWith('no connection to') ||
    (error instanceof AssociationClosedError && message.includes('during set-up'))
  );
}

/**
 * The bridge as SCU of one configured PACS node: C-ECHO, Study Root (or Patient Root) C-FIND at
 * study, series and image level returning typed records, and C-MOVE / C-GET of a study. One
 * association per operation, released at the end.
 */
export class PacsClient {
  readonly node: PacsNodeSetting;
  #callingAe: string;
  #log: Logger;

  constructor(node: PacsNodeSetting, callingAe: string, log: Logger) {
    this.node = node;
    this.#callingAe = callingAe;
    this.#log = log.child({ pacs: node.name });
  }

  /**
   * Open an association to the node with `contexts` and `roles`, run `work` on it and release
   * it. A failure to connect is a `PacsUnreachableError` (its cause the original error). When
   * `signal` aborts, the association is aborted (A-ABORT: a PACS that has stopped answering
   * cannot hold it) and this rejects with the signal's reason once it is closed.
   */
  async withAssociation<T>(
    contexts: ClientOptions['contexts'],
    roles: ClientOptions['roles'],
    work: (client: ClientAssociation) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    let client: ClientAssociation;
    try {
      client = await openAssociation({
        host: this.node.host,
        port: this.node.port,
        callingAe: this.#callingAe,
        calledAe: this.node.aeTitle,
        contexts,
        roles,
        connectTimeoutMs: this.node.connectTimeoutMs,
        artimMs: this.node.connectTimeoutMs,
        log: this.#log,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      signal?.throwIfAborted();
      if (isConnectionFailure(error))
        throw new PacsUnreachableError(
          `PACS ${this.node.name} (${this.node.aeTitle} at ${this.node.host}:${this.node.port}) is unreachable: ${(error as Error).message}`,
          { cause: error },
        );
      throw error;
    }
    if (!signal) return useAssociation(client, work);
    const onAbort = (): void => void client.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      signal.throwIfAborted();
      return await useAssociation(client, work);
    } catch (error) {
      // Aborted by useAssociation already; what the cut-short work threw says less than why.
      throw signal.aborted ? signal.reason : error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The presentation context of a query/retrieve service in the node's information model. */
  qrContexts(service: 'find' | 'move' | 'get'): ClientOptions['contexts'] {
    return [
      {
        abstractSyntax: QR_SOP_CLASSES[this.node.queryModel][service],
        transferSyntaxes: [...QR_TRANSFER_SYNTAXES],
      },
    ];
  }

  /** C-ECHO; resolves when the node answers success. */
  async echo(): Promise<void> {
    const contexts = [
      { abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: [...QR_TRANSFER_SYNTAXES] },
    ];
    const status = await this.withAssociation(contexts, [], (client) => client.echo());
    if (status !== Status.Success) throw new Error(`C-ECHO answered status ${status}`);
  }

  async #find(identifier: Identifier, signal: AbortSignal | undefined): Promise<Identifier[]> {
    const options = { timeoutMs: this.node.responseTimeoutMs };
    const find = (client: ClientAssociation): Promise<Identifier[]> =>
      cFind(client, this.node.queryModel, identifier, options);
    return this.withAssociation(this.qrContexts('find'), [], find, signal);
  }

  /** Study-level C-FIND. Keys left out are asked as return keys. */
  async findStudies(query: StudyQuery, signal?: AbortSignal): Promise<StudyMatch[]> {
    const matches = await this.#find(
      identifierOf({
        QueryRetrieveLevel: 'STUDY',
        StudyInstanceUID: query.studyInstanceUid ?? '',
        AccessionNumber: query.accessionNumber ?? '',
        IssuerOfAccessionNumberSequence: '',
        PatientID: query.patientId ?? '',
        IssuerOfPatientID: query.issuerOfPatientId ?? '',
        StudyDate: '',
        ModalitiesInStudy: '',
        NumberOfStudyRelatedInstances: '',
        NumberOfStudyRelatedSeries: '',
        SOPClassesInStudy: '',
      }),
      signal,
    );
    return matches.flatMap((match) => {
      const studyInstanceUid = getText(match, 'StudyInstanceUID');
      if (!studyInstanceUid) return [];
      return [
        {
          studyInstanceUid,
          accessionNumber: getText(match, 'AccessionNumber') || undefined,
          issuerOfAccessionNumber: issuerOfAccession(match),
          patientId: getText(match, 'PatientID') || undefined,
          issuerOfPatientId: getText(match, 'IssuerOfPatientID') || undefined,
          studyDate: getText(match, 'StudyDate') || undefined,
          modalitiesInStudy: listOf(getText(match, 'ModalitiesInStudy')),
          numberOfStudyRelatedInstances: integerOf(getText(match, 'NumberOfStudyRelatedInstances')),
          numberOfStudyRelatedSeries: integerOf(getText(match, 'NumberOfStudyRelatedSeries')),
          sopClassesInStudy: listOf(getText(match, 'SOPClassesInStudy')),
        },
      ];
    });
  }

  /** Series-level C-FIND within a study. */
  async findSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesMatch[]> {
    const matches = await this.#find(
      identifierOf({
        QueryRetrieveLevel: 'SERIES',
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: '',
        Modality: '',
        SeriesNumber: '',
        NumberOfSeriesRelatedInstances: '',
      }),
      signal,
    );
    return matches.flatMap((match) => {
      const seriesInstanceUid = getText(match, 'SeriesInstanceUID');
      if (!seriesInstanceUid) return [];
      return [
        {
          seriesInstanceUid,
          modality: getText(match, 'Modality') || undefined,
          seriesNumber: integerOf(getText(match, 'SeriesNumber')),
          numberOfSeriesRelatedInstances: integerOf(
            getText(match, 'NumberOfSeriesRelatedInstances'),
          ),
        },
      ];
    });
  }

  /** Image-level C-FIND within a series. */
  async findInstances(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    signal?: AbortSignal,
  ): Promise<InstanceMatch[]> {
    const matches = await this.#find(
      identifierOf({
        QueryRetrieveLevel: 'IMAGE',
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        SOPInstanceUID: '',
        SOPClassUID: '',
        InstanceNumber: '',
      }),
      signal,
    );
    return matches.flatMap((match) => {
      const sopInstanceUid = getText(match, 'SOPInstanceUID');
      if (!sopInstanceUid) return [];
      return [
        {
          sopInstanceUid,
          sopClassUid: getText(match, 'SOPClassUID') || undefined,
          instanceNumber: integerOf(getText(match, 'InstanceNumber')),
        },
      ];
    });
  }

  #studyIdentifier(studyInstanceUid: string, patientId: string | undefined): Identifier {
    return identifierOf({
      QueryRetrieveLevel: 'STUDY',
      ...(this.node.queryModel === 'PATIENT_ROOT' ? { PatientID: patientId ?? '' } : {}),
      StudyInstanceUID: studyInstanceUid,
    });
  }

  /**
   * C-MOVE of a study to the node's move destination (one of our AE titles). `options.signal`
   * aborts the association (see `withAssociation`).
   */
  moveStudy(
    studyInstanceUid: string,
    options: RetrieveOptions & { patientId?: string } = {},
  ): Promise<SubOperationCounts> {
    const { signal, ...rest } = options;
    return this.withAssociation(
      this.qrContexts('move'),
      [],
      (client) =>
        cMove(
          client,
          this.node.queryModel,
          this.node.moveDestination,
          this.#studyIdentifier(studyInstanceUid, options.patientId),
          { timeoutMs: this.node.responseTimeoutMs, ...rest },
        ),
      signal,
    );
  }

  /**
   * C-GET of a study: the instances come back on the same association, each handed to `store`
   * (the durable ingest path) and answered with its outcome. `sopClasses` are the storage SOP
   * classes to propose, each with one context per transfer syntax and the SCP role.
   * `options.signal` aborts the association (see `withAssociation`).
   */
  getStudy(
    studyInstanceUid: string,
    sopClasses: readonly string[],
    store: IncomingStoreHandler,
    options: RetrieveOptions & { patientId?: string } = {},
  ): Promise<SubOperationCounts> {
    const contexts = [...this.qrContexts('get'), ...storageContexts([...new Set(sopClasses)])];
    const roles = [...new Set(sopClasses)].map((sopClassUid) => ({
      sopClassUid,
      scu: false,
      scp: true,
    }));
    const { signal, ...rest } = options;
    return this.withAssociation(
      contexts,
      roles,
      (client) =>
        cGet(
          client,
          this.node.queryModel,
          this.#studyIdentifier(studyInstanceUid, options.patientId),
          store,
          { timeoutMs: this.node.responseTimeoutMs, ...rest },
        ),
      signal,
    );
  }
}
