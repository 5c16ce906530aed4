import convict from 'convict';
import {
  assertAeTitles,
  assertNonNegativeInt,
  assertPeers,
  assertPositiveInt,
  coercePeers,
  type PeerSetting,
} from './formats.js';
import { assertMoveDestinations, type MoveDestinationSetting } from './move-destinations.js';
import { assertPacsNodes, coercePacsNodes } from './pacs-nodes.js';
import { assertFacilities, type FacilitySetting } from '../hl7/facilities.js';

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
        doc: 'PACS nodes the bridge queries and retrieves from: [{"name": "pacs", "aeTitle": "PACS", "host": "10.1.2.3", "port": 104, ...}]; see the README for every field. From the environment: the same JSON.',
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
        doc: "When a C-STORE peer refuses an instance's own transfer syntax: none (the sub-operation fails) or uncompressed (an instance stored in Explicit VR Little or Big Endian is re-encoded into a little endian syntax the peer accepts; values are sent as stored).",
        format: ['none', 'uncompressed'],
        default: 'none',
        env: 'BRIDGE_TRANSCODING',
      },
      sendTimeoutMs: {
        doc: 'Longest wait for a C-STORE response when the bridge sends instances, in milliseconds.',
        format: 'positive-int',
        default: 60 * SECOND,
        env: 'BRIDGE_SEND_TIMEOUT_MS',
      },
    },
    http: {
      host: {
        doc: 'Address the HTTP API binds to (127.0.0.1 for local only, 0.0.0.0 for all IPv4 interfaces).',
        format: String,
        default: '127.0.0.1',
        env: 'BRIDGE_HTTP_HOST',
      },
      port: {
        doc: 'HTTP API port (0 picks a free port).',
        format: 'port',
        default: 8080,
        env: 'BRIDGE_HTTP_PORT',
      },
      bodyLimitBytes: {
        doc: 'Largest HTTP request body accepted, in bytes; larger ones get 413.',
        format: 'positive-int',
        default: 1 * MIB,
        env: 'BRIDGE_HTTP_BODY_LIMIT_BYTES',
      },
      apiToken: {
        doc: 'Bearer token every /api request must carry; empty allows requests without one (bind to 127.0.0.1 then).',
        format: String,
        default: '',
        env: 'BRIDGE_HTTP_API_TOKEN',
        sensitive: true,
      },
    },
    hl7: {
      enabled: {
        doc: 'Listen for HL7 v2 report messages (MDM^T02/T10/T11, ORU^R01) over MLLP.',
        format: Boolean,
        default: false,
        env: 'BRIDGE_HL7_ENABLED',
      },
      host: {
        doc: 'Address the MLLP listener binds to.',
        format: String,
        default: '0.0.0.0',
        env: 'BRIDGE_HL7_HOST',
      },
      port: {
        doc: 'MLLP port (0 picks a free port).',
        format: 'port',
        default: 2575,
        env: 'BRIDGE_HL7_PORT',
      },
      maxMessageBytes: {
        doc: 'Largest HL7 message accepted, in bytes; larger ones are refused (AR).',
        format: 'positive-int',
        default: 1 * MIB,
        env: 'BRIDGE_HL7_MAX_MESSAGE_BYTES',
      },
      maxConnections: {
        doc: 'MLLP connections served at once.',
        format: 'positive-int',
        default: 16,
        env: 'BRIDGE_HL7_MAX_CONNECTIONS',
      },
      idleTimeoutMs: {
        doc: 'An MLLP connection silent for this long is closed, in milliseconds.',
        format: 'positive-int',
        default: 600 * SECOND,
        env: 'BRIDGE_HL7_IDLE_TIMEOUT_MS',
      },
      facilities: {
        doc: 'Sending facilities (MSH-4) and how to read their messages: [{"sendingFacility": "RIS_TO", "patientIdAuthority": "PACS", "patientIdIssuer": "", "accessionIssuer": "", "codCL": "010101"}].',
        format: 'hl7-facilities',
        default: [] as FacilitySetting[],
        env: 'BRIDGE_HL7_FACILITIES',
      },
    },
    fse: {
      notifyUrl: {
        doc: 'Base URL of the FSE notification service; empty keeps notifications queued, unsent.',
        format: String,
        default: '',
        env: 'BRIDGE_FSE_NOTIFY_URL',
      },
      authKind: {
        doc: 'How the bridge authenticates to the FSE service: none, bearer or basic.',
        format: ['none', 'bearer', 'basic'],
        default: 'none',
        env: 'BRIDGE_FSE_AUTH',
      },
      token: {
        doc: 'Bearer token for the FSE service (authKind bearer).',
        format: String,
        default: '',
        env: 'BRIDGE_FSE_TOKEN',
        sensitive: true,
      },
      username: {
        doc: 'User name for the FSE service (authKind basic).',
        format: String,
        default: '',
        env: 'BRIDGE_FSE_USERNAME',
      },
      password: {
        doc: 'Password for the FSE service (authKind basic).',
        format: String,
        default: '',
        env: 'BRIDGE_FSE_PASSWORD',
        sensitive: true,
      },
      timeoutMs: {
        doc: 'Longest wait for the FSE service to answer one notification, in milliseconds.',
        format: 'positive-int',
        default: 10 * SECOND,
        env: 'BRIDGE_FSE_TIMEOUT_MS',
      },
      pollIntervalMs: {
        doc: 'Longest time before the outbox notices a notification queued by another process, in milliseconds.',
        format: 'positive-int',
        default: 5 * SECOND,
        env: 'BRIDGE_FSE_POLL_INTERVAL_MS',
      },
      maxInFlight: {
        doc: 'Notifications sent at once.',
        format: 'positive-int',
        default: 4,
        env: 'BRIDGE_FSE_MAX_IN_FLIGHT',
      },
      retryBaseDelayMs: {
        doc: 'Backoff before the first retry of a notification (doubled at each retry, full jitter), in milliseconds.',
        format: 'positive-int',
        default: 10 * SECOND,
        env: 'BRIDGE_FSE_RETRY_BASE_MS',
      },
      retryMaxDelayMs: {
        doc: 'Longest backoff between two attempts, in milliseconds.',
        format: 'positive-int',
        default: 3600 * SECOND,
        env: 'BRIDGE_FSE_RETRY_MAX_MS',
      },
      maxAttempts: {
        doc: 'Attempts before a notification that keeps failing becomes a dead letter.',
        format: 'positive-int',
        default: 50,
        env: 'BRIDGE_FSE_MAX_ATTEMPTS',
      },
    },
    links: {
      pacsNode: {
        doc: 'Name of the PACS node (pacs.nodes) missing or incomplete studies are retrieved from; empty means the first node, none configured means only pushed studies are linked.',
        format: String,
        default: '',
        env: 'BRIDGE_LINKS_PACS_NODE',
      },
      quietPeriodMs: {
        doc: 'A pushed study is checked for completeness once no instance has arrived for this long, in milliseconds.',
        format: 'positive-int',
        default: 30 * SECOND,
        env: 'BRIDGE_LINKS_QUIET_PERIOD_MS',
      },
      retrieveLocationUid: {
        doc: 'Retrieve Location UID written in KOS manifests, identifying this bridge; empty derives a stable one from the first AE title.',
        format: String,
        default: '',
        env: 'BRIDGE_RETRIEVE_LOCATION_UID',
      },
      institutionName: {
        doc: 'Institution Name written in KOS manifests; empty leaves it out.',
        format: String,
        default: '',
        env: 'BRIDGE_INSTITUTION_NAME',
      },
    },
    ingest: {
      duplicatePolicy: {
        doc: 'An instance whose SOP Instance UID is stored already with other content: keep-first (answer warning 0xB000) or replace.',
        format: ['keep-first', 'replace'],
        default: 'keep-first',
        env: 'BRIDGE_DUPLICATE_POLICY',
      },
      maxInstanceBytes: {
        doc: 'Largest instance accepted, in bytes; larger ones are refused with 0xA700.',
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
