/** How an MLLP listener is bound and what it allows each peer. */
export interface MllpServerOptions {
  /** Address to bind; `0.0.0.0` or `::` for all interfaces. */
  host: string;
  /** Port; 0 picks a free one (see `listen`). */
  port: number;
  /** Largest message (bytes between the start and the end block) answered AA/AE. */
  maxMessageBytes: number;
  /**
   * Open connections at most. A new one beyond it takes the place of the connection idle the
   * longest (nothing being received or answered on it); with none idle, it is closed at once.
   */
  maxConnections: number;
  /** Open connections from one address at most; more from it are closed at once. */
  maxConnectionsPerAddress: number;
  /** A connection silent this long, with no message being processed, is closed. */
  idleTimeoutMs: number;
  /** A connection that has sent no readable message this long after it opened is closed. */
  firstMessageTimeoutMs: number;
  /** Frames in one read from the network at most; past it, the connection is closed. */
  maxFramesPerRead: number;
  /** Frames on one connection at most; past it, the connection is closed. */
  maxFramesPerConnection: number;
  /** MSH-3/MSH-4 of our ACKs when the sender left MSH-5/MSH-6 empty. */
  application?: string;
  facility?: string;
}

const MAX_TIMER_MS = 2_147_483_647;

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max)
    throw new TypeError(
      `MLLP option ${name} must be an integer from ${min} to ${max}: value was ${JSON.stringify(value)}`,
    );
}

/** Throws a `TypeError` naming the first invalid option. */
export function checkMllpOptions(options: MllpServerOptions): void {
  checkInteger('port', options.port, 0, 65535);
  checkInteger('maxMessageBytes', options.maxMessageBytes, 64, 1024 * 1024 * 1024);
  checkInteger('maxConnections', options.maxConnections, 1, 100_000);
  checkInteger('maxConnectionsPerAddress', options.maxConnectionsPerAddress, 1, 100_000);
  checkInteger('idleTimeoutMs', options.idleTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger('firstMessageTimeoutMs', options.firstMessageTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger('maxFramesPerRead', options.maxFramesPerRead, 1, Number.MAX_SAFE_INTEGER);
  checkInteger(
    'maxFramesPerConnection',
    options.maxFramesPerConnection,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  if (typeof options.host !== 'string' || options.host === '')
    throw new TypeError(
      `MLLP option host must be an address: value was ${JSON.stringify(options.host)}`,
    );
}
