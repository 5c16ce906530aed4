import type { Logger } from 'pino';
import type { AckDecision } from './ack.js';
import { type FacilitySetting, facilitiesByName } from './facilities.js';
import type { Hl7Message } from './message.js';
import type { Hl7Handler } from './mllp-server.js';
import { type ReportEvent, extractReportEvent } from './report-message.js';

/**
 * Takes a report event in charge; resolves once it is durably recorded (or recognised as a
 * message already processed: same sending application, facility and control id), and the
 * message is then answered AA. Throw an `Hl7Error` to answer AE/AR with its reason (say, AE
 * for the cancellation of an unknown document); any other throw is answered AR, so that the
 * sender tries again later.
 */
export type ReportEventSink = (event: ReportEvent, message: Hl7Message) => Promise<void>;

/**
 * The MLLP handler for radiology reports: reads a `ReportEvent` from each MDM^T02/T10/T11 or
 * ORU^R01 for the configured facilities and hands it to the sink.
 */
export function createReportHandler(
  facilities: readonly FacilitySetting[],
  sink: ReportEventSink,
  log: Logger,
): Hl7Handler {
  const byName = facilitiesByName(facilities);
  return async (message): Promise<AckDecision> => {
    const event = extractReportEvent(message, byName);
    if (event.warnings.length > 0)
      log.warn(
        {
          controlId: event.messageControlId,
          sendingFacility: event.sendingFacility,
          warnings: event.warnings,
        },
        'HL7 report read with warnings',
      );
    await sink(event, message);
    log.debug(
      {
        kind: event.kind,
        controlId: event.messageControlId,
        sendingFacility: event.sendingFacility,
        accessionNumbers: event.accessionNumbers.length,
      },
      'HL7 report event taken in charge',
    );
    return { code: 'AA' };
  };
}
