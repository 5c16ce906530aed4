import convict from 'convict';
import {
  assertAeTitles,
  assertIssuer,
  assertNonNegativeInt,
  assertPeers,
  assertPositiveInt,
  coercePeers,
  type PeerSetting,
} from './formats.js';
import { assertMoveDestinations, type MoveDestinationSetting } from './move-destinations.js';
import { assertPacsNodes, coercePacsNodes } from './pacs-nodes.js';
import { assertFacilities } from '../hl7/facilities.js';
import { reportingSchema } from './schema-reporting.js';
import {
  assertErrorCodes,
  assertRoleCodes,
  coerceCodes,
  coerceJsonObject,
  GET_DOCUMENTO_FORMATS,
  onDemandSchema,
  PDI_FORMATS,
} from './schema-ondemand.js';
import { adminSchema } from './schema-admin.js';

const SECOND = 1000;
const MIB = 1024 * 1024;

let formatsAdded = false;
/** Register the bridge's formats with convict (once; convict's registry is global). */
function addFormats(): void {
  if (formatsAdded) return;
  convict.addFormat({
    name: 'ae-titles',
    validate: assertAeTitles,
    coerce: (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
  });
  convict.addFormat({ name: 'peers', validate: assertPeers, coerce: coercePeers });
  convict.addFormat({ name: 'pacs-nodes', validate: assertPacsNodes, coerce: coercePacsNodes });
  convict.addFormat({
    name: 'hl7-facilities',
    validate: assertFacilities,
    coerce: coercePacsNodes,
  });
  convict.addFormat({
    name: 'move-destinations',
    validate: assertMoveDestinations,
    coerce: coercePacsNodes,
  });
  convict.addFormat({ name: 'issuer', validate: assertIssuer });
  convict.addFormat({ name: 'error-codes', validate: assertErrorCodes, coerce: coerceJsonObject });
  convict.addFormat({ name: 'role-codes', validate: assertRoleCodes, coerce: coerceCodes });
  for (const format of [...PDI_FORMATS, ...GET_DOCUMENTO_FORMATS]) convict.addFormat(format);
  convict.addFormat({
    name: 'positive-int',
    validate: assertPositiveInt,
    coerce: (v: unknown) => (typeof v === 'string' ? Number(v) : v),
  });
  convict.addFormat({
    name: 'non-negative-int',
    validate: assertNonNegativeInt,
    coerce: (v: unknown) => (typeof v === 'string' ? Number(v) : v),
  });
  convict.addFormat({
    name: 'port-or-off',
    validate: (v: unknown) => {
      if (!Number.isInteger(v) || (v as number) < -1 || (v as number) > 65535)
        throw new Error(
          `must be a port from 0 to 65535, or -1 for none: value was ${JSON.stringify(v)}`,
        );
    },
    coerce: (v: unknown) => (typeof v === 'string' ? Number(v) : v),
  });
  formatsAdded = true;
}

/**
 * The configuration schema: every key with its doc, format, default and environment variable.
 * Values are read from `env` (the process environment unless given) and never from argv.
 */
export function createSchema(env: NodeJS.ProcessEnv = process.env) {
  addFormats();
  return convict(schemaDefinition(), { env, args: [] });
}

function schemaDefinition() {
  return {
    dataDir: {
      doc: 'Directory for the spool, filesystem storage and the SQLite index (relative to the working directory).',
      format: String,
      default: './data',
      env: 'BRIDGE_DATA_DIR',
    },
    log: {
      level: {
        doc: 'Log level.',
        format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
        default: 'info',
        env: 'BRIDGE_LOG_LEVEL',
      },
    },
    dicom: {
      aeTitles: {
        doc: 'AE titles the bridge answers to (called AE). The first is used when it calls others.',
        format: 'ae-titles',
        default: ['FSEBRIDGE'],
        env: 'BRIDGE_AE_TITLES',
      },
      host: {
        doc: 'Address the DICOM port binds to (0.0.0.0 for all IPv4 interfaces, 127.0.0.1 for local only).',
        format: String,
        default: '0.0.0.0',
        env: 'BRIDGE_DICOM_HOST',
      },
      port: {
        doc: 'DICOM port (0 picks a free port).',
        format: 'port',
        default: 11112,
        env: 'BRIDGE_DICOM_PORT',
      },
      allowedPeers: {
        doc: 'Peers allowed to associate: [{"aeTitle": "PACS", "host": "10.1.2.3"}]; host is optional. From the environment: "PACS@10.1.2.3,MODALITY".',
        format: 'peers',
        default: [] as PeerSetting[],
        env: 'BRIDGE_ALLOWED_PEERS',
      },
      maxAssociations: {
        doc: 'Associations served at once; more are rejected as transient (local limit exceeded).',
        format: 'positive-int',
        default: 16,
        env: 'BRIDGE_MAX_ASSOCIATIONS',
      },
      maxPduLength: {
        doc: 'Largest P-DATA-TF PDU the bridge accepts (advertised to peers), in bytes.',
        format: 'positive-int',
        default: 256 * 1024,
        env: 'BRIDGE_MAX_PDU_LENGTH',
      },
      artimMs: {
        doc: 'Time a peer has to complete association set-up or release (ARTIM), in milliseconds.',
        format: 'positive-int',
        default: 30 * SECOND,
        env: 'BRIDGE_ARTIM_MS',
      },
      idleTimeoutMs: {
        doc: 'An association silent for this long is aborted, in milliseconds.',
        format: 'positive-int',
        default: 300 * SECOND,
        env: 'BRIDGE_IDLE_TIMEOUT_MS',
      },
      acceptPrivateSopClasses: {
        doc: "Store instances of SOP classes outside the DICOM standard (vendors' private storage classes).",
        format: Boolean,
        default: true,
        env: 'BRIDGE_ACCEPT_PRIVATE_SOP_CLASSES',
      },
    },
    pacs: {
      nodes: {
        doc: 'PACS nodes the bridge queries and retrieves from: [{"name": "pacs", "aeTitle": "PACS", "host": "10.1.2.3", "port": 104, ...}]; every field is described in docs/configuration.md. From the environment: the same JSON.',
        format: 'pacs-nodes',
        default: [] as Array<Record<string, unknown>>,
        env: 'BRIDGE_PACS_NODES',
      },
    },
    queryRetrieve: {
      moveDestinations: {
        doc: 'AEs our Q/R SCP may C-MOVE to, besides the PACS nodes: [{"aeTitle": "VIEWER", "host": "10.1.2.4", "port": 104}].',
        format: 'move-destinations',
        default: [] as MoveDestinationSetting[],
        env: 'BRIDGE_MOVE_DESTINATIONS',
      },
      maxConcurrentRetrieves: {
        doc: 'C-MOVE and C-GET requests served at once by our Q/R SCP; more are refused (0xA701 move, 0xA702 get).',
        format: 'positive-int',
        default: 4,
        env: 'BRIDGE_QR_MAX_RETRIEVES',
      },
      maxMatches: {
        doc: 'Largest number of C-FIND matches our Q/R SCP returns; a query matching more is refused (0xA700).',
        format: 'positive-int',
        default: 10_000,
        env: 'BRIDGE_QR_MAX_MATCHES',
      },
      transcoding: {
        doc: "When a C-STORE peer (a C-GET requestor, a C-MOVE destination) accepts no presentation context for an instance's own transfer syntax: lossless (the instance is converted into Explicit or Implicit VR Little Endian when nothing is lost: re-encoded from Implicit VR, Big Endian or Deflated, or decompressed from JPEG Lossless, JPEG-LS lossless, RLE or JPEG 2000 lossless; values are sent as stored) or none (the sub-operation fails). uncompressed, an earlier name, reads as lossless.",
        format: ['lossless', 'none', 'uncompressed'],
        default: 'lossless',
        env: 'BRIDGE_TRANSCODING',
      },
      decompressLossy: {
        doc: 'With transcoding lossless, also decompress images stored lossy-compressed (JPEG Baseline and Extended, JPEG-LS near-lossless, JPEG 2000) for peers that accept only uncompressed pixels; they keep Lossy Image Compression 01 and the method.',
        format: Boolean,
        default: false,
        env: 'BRIDGE_DECOMPRESS_LOSSY',
      },
      sendTimeoutMs: {
        doc: 'Longest wait for a C-STORE response when the bridge sends instances, in milliseconds.',
        format: 'positive-int',
        default: 60 * SECOND,
        env: 'BRIDGE_SEND_TIMEOUT_MS',
      },
      issuerOfPatientId: {
        doc: 'IssuerOfPatientID the Q/R SCP answers for: instances stored without an issuer match it and are answered with it; one stored with another issuer does not match. Empty: none assumed.',
        format: 'issuer',
        default: '',
        env: 'BRIDGE_QR_ISSUER_OF_PATIENT_ID',
      },
      incompleteStudies: {
        doc: 'A study not complete as held (an instance arrived within links.quietPeriodMs, or fewer held than the PACS announced): withhold (C-FIND does not answer it, a C-MOVE or C-GET of it is refused with 0xC000) or answer.',
        format: ['withhold', 'answer'],
        default: 'withhold',
        env: 'BRIDGE_QR_INCOMPLETE_STUDIES',
      },
    },
    ...reportingSchema(),
    ...onDemandSchema(),
    ...adminSchema(),
    ingest: {
      duplicatePolicy: {
        doc: 'An instance whose SOP Instance UID is stored already with other content (in the same study, or another study of the same patient): keep-first (answer warning 0xB000) or replace. Under a study of another patient it is refused with 0xC001 either way.',
        format: ['keep-first', 'replace'],
        default: 'keep-first',
        env: 'BRIDGE_DUPLICATE_POLICY',
      },
      maxInstanceBytes: {
        doc: 'Largest instance accepted, in bytes (a deflated one also once inflated); larger ones are refused with 0xA700.',
        format: 'positive-int',
        default: 4096 * MIB,
        env: 'BRIDGE_MAX_INSTANCE_BYTES',
      },
      minFreeDiskBytes: {
        doc: 'Refuse instances (0xA700) when free space on the data directory falls below this many bytes; 0 disables the check.',
        format: 'non-negative-int',
        default: 512 * MIB,
        env: 'BRIDGE_MIN_FREE_DISK_BYTES',
      },
      maxHeaderBytes: {
        doc: 'Bytes of an instance header (elements before the pixel data) kept to read its metadata.',
        format: 'positive-int',
        default: 64 * MIB,
        env: 'BRIDGE_MAX_HEADER_BYTES',
      },
    },
    storage: {
      kind: {
        doc: 'Object storage: fs (files under dataDir/objects or storage.fs.root) or s3.',
        format: ['fs', 's3'],
        default: 'fs',
        env: 'BRIDGE_STORAGE',
      },
      fs: {
        root: {
          doc: 'Root directory of filesystem storage; empty means <dataDir>/objects.',
          format: String,
          default: '',
          env: 'BRIDGE_STORAGE_FS_ROOT',
        },
      },
      s3: {
        endPoint: {
          doc: 'S3 server host name.',
          format: String,
          default: '127.0.0.1',
          env: 'BRIDGE_S3_ENDPOINT',
        },
        port: { doc: 'S3 server port.', format: 'port', default: 9000, env: 'BRIDGE_S3_PORT' },
        useSSL: {
          doc: 'Use HTTPS to reach the S3 server.',
          format: Boolean,
          default: false,
          env: 'BRIDGE_S3_USE_SSL',
        },
        accessKey: {
          doc: 'S3 access key.',
          format: String,
          default: '',
          env: 'BRIDGE_S3_ACCESS_KEY',
          sensitive: true,
        },
        secretKey: {
          doc: 'S3 secret key.',
          format: String,
          default: '',
          env: 'BRIDGE_S3_SECRET_KEY',
          sensitive: true,
        },
        bucket: {
          doc: 'S3 bucket (created when missing).',
          format: String,
          default: 'fse-bridge',
          env: 'BRIDGE_S3_BUCKET',
        },
        region: {
          doc: 'S3 region.',
          format: String,
          default: 'us-east-1',
          env: 'BRIDGE_S3_REGION',
        },
      },
    },
    index: {
      path: {
        doc: 'SQLite index file; empty means <dataDir>/index.sqlite.',
        format: String,
        default: '',
        env: 'BRIDGE_INDEX_PATH',
      },
    },
    shutdown: {
      drainTimeoutMs: {
        doc: 'On SIGTERM/SIGINT, time open associations get to finish before they are aborted, in milliseconds.',
        format: 'positive-int',
        default: 10 * SECOND,
        env: 'BRIDGE_SHUTDOWN_DRAIN_MS',
      },
    },
  };
}
