import type { Logger } from 'pino';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import { getText, identifierOf, type Identifier } from '../dicom/identifier.js';
import {
  AssociationClosedError,
  type ClientAssociation,
  type IncomingStoreHandler,
} from '../dimse/client.js';
import {
  AssociationRejectedError,
  DimseStatusError,
  MoveDestinationUnknownError,
  ResponseTimeoutError,
  SubOperationsFailedError,
} from '../dimse/errors.js';
import { cFind, cGet, cMove } from '../dimse/qr-scu.js';
import { formatStatus, Status } from '../dimse/status.js';
import { PacsClient, PacsUnreachableError, storageContexts } from '../retrieve/pacs-client.js';

export type VerifyLeg = 'C-ECHO' | 'C-FIND' | 'C-MOVE' | 'C-GET';

export interface LegResult {
  leg: VerifyLeg;
  outcome: 'passed' | 'failed' | 'skipped';
  /** What happened, in a sentence. */
  detail: string;
  /** For a failure: a short code of the likely cause, and what to check. */
  cause?: string;
  hint?: string;
}

export interface VerifyReport {
  node: string;
  ok: boolean;
  /** The first leg that failed. */
  failedLeg?: VerifyLeg;
  legs: LegResult[];
}

export interface VerifyDeps {
  /** True when the index holds this SOP Instance UID (the moved instance arrived). */
  isStored(sopInstanceUid: string): boolean;
  /** The durable ingest path, for the instance of a C-GET. */
  store: IncomingStoreHandler;
  /** Our DICOM port, named in hints. */
  dicomPort: () => number;
  log: Logger;
}

interface Diagnosis {
  cause: string;
  hint: string;
}

const errnoOf = (error: unknown): string | undefined =>
  (error as NodeJS.ErrnoException).code ??
  ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;

/** The likely cause of a failure to connect or associate. */
function diagnoseConnection(failure: unknown, node: PacsNodeSetting): Diagnosis | undefined {
  const error = failure instanceof PacsUnreachableError ? failure.cause : failure;
  const where = `${node.host}:${node.port}`;
  const code = errnoOf(error);
  if (code === 'ECONNREFUSED')
    return {
      cause: 'connection-refused',
      hint: `nothing accepts connections at ${where}: check the port (and host), and that the PACS runs`,
    };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { cause: 'unknown-host', hint: `host name ${node.host} cannot be resolved` };
  if (
    code === 'ETIMEDOUT' ||
    error instanceof ResponseTimeoutError ||
    /^no connection to .* within/.test((error as Error).message)
  )
    return {
      cause: 'timeout',
      hint: `no answer from ${where} in time: check host, port and firewalls`,
    };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return { cause: 'host-unreachable', hint: `no route to ${node.host}` };
  if (error instanceof AssociationRejectedError) {
    const { result, source, reason } = error.rejection;
    const calledWrong = source === 1 && reason === 7;
    return {
      cause: 'association-rejected',
      hint: calledWrong
        ? `the PACS does not answer to AE title ${node.aeTitle} (A-ASSOCIATE-RJ ${result}/${source}/${reason}): check the node's aeTitle`
        : `the PACS rejected our calling AE title ${node.callingAeTitle} (A-ASSOCIATE-RJ ${result}/${source}/${reason}): register it on the PACS with our host`,
    };
  }
  if (error instanceof AssociationClosedError)
    return {
      cause: 'connection-closed',
      hint: `the PACS closed the connection during association set-up: is ${where} a DICOM port?`,
    };
  if (/did not accept/.test((error as Error).message))
    return {
      cause: 'service-not-accepted',
      hint: `the PACS does not offer this service to ${node.callingAeTitle} in ${node.queryModel}: check the node's queryModel and its permissions on the PACS`,
    };
  return undefined;
}

/** The likely cause of a failed C-MOVE or C-GET of one instance to us. */
function diagnoseRetrieve(error: unknown, node: PacsNodeSetting, ourPort: number): Diagnosis {
  const registered = `our AE title ${node.moveDestination} is probably not registered on the PACS as a move destination (with our host and port ${ourPort})`;
  if (error instanceof MoveDestinationUnknownError)
    return { cause: 'move-destination-unknown', hint: `${registered}; the PACS answered 0xA801` };
  if (error instanceof SubOperationsFailedError)
    return {
      cause: 'sub-operation-failed',
      hint: `the PACS could not store the instance to us: check the host and port it has for ${node.moveDestination} (our port ${ourPort}), and that its sending AE titles (${node.sendingAeTitles.join(', ') || 'none'}) may store to us from ${node.host}`,
    };
  if (error instanceof DimseStatusError && (error.counts?.completed ?? 0) === 0) {
    const status = formatStatus(error.status);
    if (error.status === Status.MoveDestinationUnknown || (error.status & 0xf000) === 0xc000)
      // Orthanc answers 0xC000 rather than 0xA801 for a destination it does not know.
      return {
        cause: 'move-destination-unknown',
        hint: `${registered}; the PACS answered ${status} (Orthanc answers 0xC000 for an unknown destination)`,
      };
    return { cause: 'retrieve-refused', hint: `the PACS refused the retrieve with ${status}` };
  }
  return { cause: 'retrieve-failed', hint: (error as Error).message };
}

/**
 * Check a PACS node end to end, leg by leg: a C-ECHO, a study-level C-FIND (then series and
 * image level within the first study found, for one instance), and a C-MOVE of that instance to
 * our own AE title (C-GET for a node that retrieves with C-GET), checking that it arrived. The
 * first leg that fails ends the check; its report names the likely cause. A PACS without
 * studies passes with the retrieve leg skipped. The instance retrieved is stored like any other.
 */
export async function verifyNode(node: PacsNodeSetting, deps: VerifyDeps): Promise<VerifyReport> {
  const legs: LegResult[] = [];
  const retrieveLeg: VerifyLeg = node.retrieveMethod === 'C-GET' ? 'C-GET' : 'C-MOVE';
  const fail = (leg: VerifyLeg, error: unknown, diagnosis?: Diagnosis): VerifyReport => {
    const found = diagnosis ?? diagnoseConnection(error, node);
    legs.push({
      leg,
      outcome: 'failed',
      detail: (error as Error).message,
      cause: found?.cause ?? 'failed',
      hint: found?.hint ?? (error as Error).message,
    });
    deps.log.warn({ node: node.name, leg, cause: found?.cause }, 'node verification failed');
    return { node: node.name, ok: false, failedLeg: leg, legs };
  };
  const pacs = new PacsClient(node, node.callingAeTitle, deps.log);

  try {
    await pacs.echo();
    legs.push({ leg: 'C-ECHO', outcome: 'passed', detail: 'the PACS answered the C-ECHO' });
  } catch (error) {
    return fail('C-ECHO', error);
  }

  let target: { identifier: Identifier; sopInstanceUid: string; sopClassUid: string } | undefined;
  try {
    target = await pacs.withAssociation(pacs.qrContexts('find'), [], (client) =>
      findOneInstance(client, node),
    );
    legs.push({
      leg: 'C-FIND',
      outcome: 'passed',
      detail: target
        ? 'the PACS answered a study-level C-FIND; one instance was found to retrieve'
        : 'the PACS answered a study-level C-FIND with no studies',
    });
  } catch (error) {
    const diagnosis =
      error instanceof DimseStatusError
        ? {
            cause: 'find-refused',
            hint: `the PACS refused the C-FIND with ${formatStatus(error.status)}: does it allow ${node.callingAeTitle} to query?`,
          }
        : undefined;
    return fail('C-FIND', error, diagnosis);
  }

  if (!target) {
    legs.push({
      leg: retrieveLeg,
      outcome: 'skipped',
      detail: `the PACS holds no studies, so no ${retrieveLeg} was tried`,
    });
    return { node: node.name, ok: true, legs };
  }
  const { identifier, sopInstanceUid, sopClassUid } = target;
  try {
    if (retrieveLeg === 'C-MOVE')
      await pacs.withAssociation(pacs.qrContexts('move'), [], (client) =>
        cMove(client, node.queryModel, node.moveDestination, identifier, {
          timeoutMs: node.responseTimeoutMs,
        }),
      );
    else
      await pacs.withAssociation(
        [...pacs.qrContexts('get'), ...storageContexts([sopClassUid])],
        [{ sopClassUid, scu: false, scp: true }],
        (client) =>
          cGet(client, node.queryModel, identifier, deps.store, {
            timeoutMs: node.responseTimeoutMs,
          }),
      );
  } catch (error) {
    return fail(
      retrieveLeg,
      error,
      diagnoseConnection(error, node) ?? diagnoseRetrieve(error, node, deps.dicomPort()),
    );
  }
  if (!deps.isStored(sopInstanceUid))
    return fail(
      retrieveLeg,
      new Error(`the PACS reported success but the instance did not arrive`),
      {
        cause: 'instance-not-received',
        hint: `the PACS may send ${node.moveDestination} to another host or port than ours (port ${deps.dicomPort()})`,
      },
    );
  legs.push({
    leg: retrieveLeg,
    outcome: 'passed',
    detail:
      retrieveLeg === 'C-MOVE'
        ? `one instance was moved to ${node.moveDestination} and stored`
        : 'one instance was retrieved with C-GET and stored',
  });
  deps.log.info({ node: node.name }, 'node verified');
  return { node: node.name, ok: true, legs };
}

/** Study, then series, then image level, one match each: an instance to retrieve, if any. */
async function findOneInstance(
  client: ClientAssociation,
  node: PacsNodeSetting,
): Promise<{ identifier: Identifier; sopInstanceUid: string; sopClassUid: string } | undefined> {
  const options = { timeoutMs: node.responseTimeoutMs, limit: 1 };
  const patientRoot = node.queryModel === 'PATIENT_ROOT';
  const [study] = await cFind(
    client,
    node.queryModel,
    identifierOf({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '', PatientID: '' }),
    options,
  );
  const studyUid = study && getText(study, 'StudyInstanceUID');
  if (!studyUid) return undefined;
  const patient: Record<string, string> = patientRoot
    ? { PatientID: getText(study, 'PatientID') ?? '' }
    : {};
  const [series] = await cFind(
    client,
    node.queryModel,
    identifierOf({
      QueryRetrieveLevel: 'SERIES',
      ...patient,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: '',
    }),
    options,
  );
  const seriesUid = series && getText(series, 'SeriesInstanceUID');
  if (!seriesUid) return undefined;
  const [instance] = await cFind(
    client,
    node.queryModel,
    identifierOf({
      QueryRetrieveLevel: 'IMAGE',
      ...patient,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      SOPInstanceUID: '',
      SOPClassUID: '',
    }),
    options,
  );
  const sopInstanceUid = instance && getText(instance, 'SOPInstanceUID');
  if (!sopInstanceUid) return undefined;
  return {
    identifier: identifierOf({
      QueryRetrieveLevel: 'IMAGE',
      ...patient,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      SOPInstanceUID: sopInstanceUid,
    }),
    sopInstanceUid,
    sopClassUid: getText(instance, 'SOPClassUID') ?? '',
  };
}
