import type { ReportState } from './report-state.js';

/** Where the FSE side is told to retrieve the images from. */
export interface RetrieveLocation {
  retrieveAeTitle: string;
  retrieveLocationUid: string;
}

/** The images-available message content (the FSE adapter maps it onto the wire). */
export function imagesAvailablePayload(
  report: ReportState,
  options: RetrieveLocation,
  seriesCount: (studyInstanceUid: string) => number,
): Record<string, unknown> {
  return {
    codCL: report.codCL,
    codDocumentoDipartimentale: report.codDocumentoDipartimentale,
    ...(report.idDocumentoIlec ? { idDocumentoIlec: report.idDocumentoIlec } : {}),
    ...(report.codiceFiscale ? { codiceFiscale: report.codiceFiscale } : {}),
    patientId: report.patientId,
    issuerOfPatientId: report.issuerOfPatientId,
    accessionNumbers: report.accessions
      .filter((a) => a.dataNotificaPacs)
      .map((a) => ({
        accessionNumber: a.accessionNumber,
        ...(a.issuer ? { issuer: a.issuer } : {}),
        dataNotificaPacs: a.dataNotificaPacs,
      })),
    studies: report.accessions.flatMap((a) =>
      a.studies.map((s) => ({
        studyInstanceUid: s.studyInstanceUid,
        numberOfSeries: seriesCount(s.studyInstanceUid),
        numberOfInstances: s.instances,
      })),
    ),
    hl7: {
      reportVersion: report.version,
      ...(report.facility ? { facility: report.facility } : {}),
      ...(report.risId ? { risId: report.risId } : {}),
    },
    manifest: {
      sopInstanceUid: report.manifest!.sopInstanceUid,
      studyInstanceUid: report.manifest!.studyInstanceUid,
      retrieveAeTitle: options.retrieveAeTitle,
      retrieveLocationUid: options.retrieveLocationUid,
    },
  };
}
