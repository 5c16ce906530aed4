import type { Logger } from 'pino';
import { Hl7Error, Hl7ErrorCode } from '../hl7/errors.js';
import type { ReportEventSink } from '../hl7/report-listener.js';
import { hl7TimeToIso } from '../hl7/report-message.js';
import {
  ReportValidationError,
  checkRegistration,
  reportKey,
  type ReportRegistration,
} from './report.js';
import { FseMessageError } from './fse-messages.js';
import type { ReportLinker } from './report-linker.js';
import type { ReportStore } from './report-store.js';

/**
 * What an HL7 report event does: MDM^T02 / ORU^R01 register the report, MDM^T10 replaces it
 * (relink, new manifest), MDM^T11 cancels it. A message already processed (same sending
 * application, facility and MSH-10) is acknowledged again without effect. The ACK means the
 * report is recorded; linking, which may retrieve from the PACS, goes on after it.
 */
export function reportEventSink(deps: {
  linker: ReportLinker;
  reports: ReportStore;
  log: Logger;
  now?: () => Date;
}): ReportEventSink {
  const now = deps.now ?? (() => new Date());
  /**
   * A report recorded before its values were checked as the notifications check them cannot be
   * cancelled (nothing changes): AE, as a retry would fail the same way.
   */
  const cancel = (key: string): void => {
    try {
      deps.linker.cancel(key);
    } catch (error) {
      if (!(error instanceof FseMessageError)) throw error;
      throw new Hl7Error(`the cancellation cannot be notified: ${error.message}`, {
        ack: 'AE',
        code: Hl7ErrorCode.ApplicationInternalError,
        cause: error,
      });
    }
  };
  return async (event) => {
    const { sendingApplication, sendingFacility, messageControlId } = event;
    const seen = deps.reports.seenMessage(sendingApplication, sendingFacility, messageControlId);
    if (seen) {
      deps.log.info(
        { controlId: messageControlId, sendingFacility },
        'HL7 message seen before; not processed again',
      );
      return;
    }
    if (!event.codCL)
      throw new Hl7Error(`no codCL is configured for sending facility ${sendingFacility}`, {
        ack: 'AR',
        code: Hl7ErrorCode.ApplicationInternalError,
      });
    const codCL = event.codCL;
    if (event.kind === 'cancelled') {
      const key = reportKey({
        codCL,
        codDocumentoDipartimentale: event.codDocumentoDipartimentale,
      });
      if (!deps.reports.get(key))
        throw new Hl7Error('the cancelled document is not known', {
          ack: 'AE',
          code: Hl7ErrorCode.UnknownKeyIdentifier,
          location: { segment: 'TXA', field: 12 },
        });
      cancel(key);
    } else {
      const registration: ReportRegistration = {
        codCL,
        codDocumentoDipartimentale: event.codDocumentoDipartimentale,
        idDocumentoIlec: undefined,
        accessions: event.accessionNumbers.map((accessionNumber) => ({
          accessionNumber,
          issuer: event.accessionIssuer,
        })),
        patientId: event.patientId,
        issuerOfPatientId: event.patientIdIssuer,
        codiceFiscale: event.codiceFiscale,
        signedAt: event.signedAt ? hl7TimeToIso(event.signedAt) : undefined,
        source: 'hl7',
        facility: sendingFacility,
        risId: event.risId,
      };
      // Checked before anything changes: a report that could never be notified is refused.
      try {
        checkRegistration(registration);
      } catch (error) {
        if (!(error instanceof ReportValidationError)) throw error;
        // codCL comes from the facility's configuration: the sender cannot fix it, so AR.
        throw new Hl7Error(
          error.message,
          error.field === 'codCL'
            ? { ack: 'AR', code: Hl7ErrorCode.ApplicationInternalError }
            : { ack: 'AE', code: Hl7ErrorCode.DataTypeError },
        );
      }
      // A replacement of another document drops that one's links.
      if (
        event.kind === 'replaced' &&
        event.replacedDocumentId &&
        event.replacedDocumentId !== event.codDocumentoDipartimentale
      )
        cancel(reportKey({ codCL, codDocumentoDipartimentale: event.replacedDocumentId }));
      const { state, linked } = deps.linker.accept(registration);
      linked.catch((error: unknown) =>
        deps.log.error({ err: error, report: state.reportKey }, 'linking a report failed'),
      );
    }
    deps.reports.recordMessage(
      sendingApplication,
      sendingFacility,
      messageControlId,
      'AA',
      now().toISOString(),
    );
  };
}
