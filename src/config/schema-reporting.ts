import type { FacilitySetting } from '../hl7/facilities.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const MIB = 1024 * 1024;

/**
 * The schema of the report side: the HTTP API, the HL7 listener, FSE notification and linking
 * (formats `port`, `positive-int` and `hl7-facilities` are registered by schema.ts).
 */
export function reportingSchema() {
  return {
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
        doc: 'Bearer token every /api request must carry; empty allows requests without one, only on a loopback http.host (127.0.0.0/8, ::1, localhost): on any other address the bridge refuses to start without it.',
        format: String,
        default: '',
        env: 'BRIDGE_HTTP_API_TOKEN',
        sensitive: true,
      },
      headersTimeoutMs: {
        doc: 'Time a client has to send the headers of a request, in milliseconds; then it gets 408 and is disconnected. At most http.requestTimeoutMs.',
        format: 'positive-int',
        default: 10 * SECOND,
        env: 'BRIDGE_HTTP_HEADERS_TIMEOUT_MS',
      },
      requestTimeoutMs: {
        doc: 'Time a client has to send a whole request, headers and body, in milliseconds; then it gets 408 and is disconnected.',
        format: 'positive-int',
        default: 30 * SECOND,
        env: 'BRIDGE_HTTP_REQUEST_TIMEOUT_MS',
      },
      keepAliveTimeoutMs: {
        doc: 'A keep-alive connection waiting for its next request is closed after this long, in milliseconds.',
        format: 'positive-int',
        default: 5 * SECOND,
        env: 'BRIDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS',
      },
      idleTimeoutMs: {
        doc: 'A connection on which nothing is sent or received for this long is closed, in milliseconds (a client that stops reading its answer, among others). Longer than onDemand.maxDeadlineMs.',
        format: 'positive-int',
        default: 5 * MINUTE,
        env: 'BRIDGE_HTTP_IDLE_TIMEOUT_MS',
      },
      maxConnections: {
        doc: 'Connections the HTTP listener keeps open at once; one more is closed as soon as it is accepted.',
        format: 'positive-int',
        default: 256,
        env: 'BRIDGE_HTTP_MAX_CONNECTIONS',
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
        doc: 'MLLP connections served at once; a new one beyond it replaces the connection idle the longest, and is closed at once only when none is idle.',
        format: 'positive-int',
        default: 16,
        env: 'BRIDGE_HL7_MAX_CONNECTIONS',
      },
      maxConnectionsPerAddress: {
        doc: 'MLLP connections open at once from one address; more from it are closed at once.',
        format: 'positive-int',
        default: 8,
        env: 'BRIDGE_HL7_MAX_CONNECTIONS_PER_ADDRESS',
      },
      idleTimeoutMs: {
        doc: 'An MLLP connection silent for this long is closed, in milliseconds.',
        format: 'positive-int',
        default: 600 * SECOND,
        env: 'BRIDGE_HL7_IDLE_TIMEOUT_MS',
      },
      firstMessageTimeoutMs: {
        doc: 'An MLLP connection that has sent no readable HL7 message this long after it opened is closed, in milliseconds.',
        format: 'positive-int',
        default: 30 * SECOND,
        env: 'BRIDGE_HL7_FIRST_MESSAGE_TIMEOUT_MS',
      },
      maxFramesPerRead: {
        doc: 'MLLP frames in one read from the network at most; past it the connection is closed once the frames before are answered.',
        format: 'positive-int',
        default: 1000,
        env: 'BRIDGE_HL7_MAX_FRAMES_PER_READ',
      },
      maxFramesPerConnection: {
        doc: 'MLLP frames on one connection at most; past it the connection is closed once the frames before are answered (senders reconnect).',
        format: 'positive-int',
        default: 100_000,
        env: 'BRIDGE_HL7_MAX_FRAMES_PER_CONNECTION',
      },
      facilities: {
        doc: 'Sending facilities (MSH-4) and how to read their messages: [{"sendingFacility": "RIS_TO", "patientIdAuthority": "PACS", "patientIdIssuer": "", "accessionIssuer": "", "codCL": "010101"}].',
        format: 'hl7-facilities',
        default: [] as FacilitySetting[],
        env: 'BRIDGE_HL7_FACILITIES',
      },
    },
    fse: {
      transport: {
        doc: 'How notifications go out: hl7 (MDM over MLLP to the regional image gateway, fse.gateway) or http (JSON POSTs to fse.notifyUrl).',
        format: ['hl7', 'http'],
        default: 'hl7',
        env: 'BRIDGE_FSE_TRANSPORT',
      },
      gateway: {
        host: {
          doc: 'Host name or address of the regional image gateway (MLLP); empty keeps notifications queued, unsent (transport hl7).',
          format: String,
          default: '',
          env: 'BRIDGE_FSE_GATEWAY_HOST',
        },
        port: {
          doc: "The gateway's MLLP port.",
          format: 'port',
          default: 2575,
          env: 'BRIDGE_FSE_GATEWAY_PORT',
        },
        structureCode: {
          doc: 'PV1-3.4 of the messages: the ASR structure code the gateway knows; a facility may set its own (hl7.facilities[].gateway.structureCode).',
          format: String,
          default: '',
          env: 'BRIDGE_FSE_GATEWAY_STRUCTURE_CODE',
        },
        sendingApplication: {
          doc: "MSH-3 of the messages: one of the gateway's accepted sending applications.",
          format: String,
          default: 'FSEBRIDGE',
          env: 'BRIDGE_FSE_GATEWAY_SENDING_APPLICATION',
        },
        sendingFacility: {
          doc: 'MSH-4 of the messages.',
          format: String,
          default: '',
          env: 'BRIDGE_FSE_GATEWAY_SENDING_FACILITY',
        },
        receivingApplication: {
          doc: 'MSH-5 of the messages.',
          format: String,
          default: 'O3DPACS',
          env: 'BRIDGE_FSE_GATEWAY_RECEIVING_APPLICATION',
        },
        receivingFacility: {
          doc: 'MSH-6 of the messages.',
          format: String,
          default: 'REGIONE',
          env: 'BRIDGE_FSE_GATEWAY_RECEIVING_FACILITY',
        },
      },
      notifyUrl: {
        doc: 'Base URL of the FSE notification service (transport http); empty keeps notifications queued, unsent.',
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
        doc: 'Longest wait for the answer to one notification (HTTP response, or HL7 acknowledgement with the connection), in milliseconds.',
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
  };
}
