import { once } from 'node:events';
import { Client, Message } from 'node-hl7-client';

/**
 * A real MLLP client from npm (node-hl7-client 3.2.0, the last release that runs on Node 20)
 * talking to the listener. It must not send before its socket is connected: a message sent
 * earlier makes it open a second socket and leave the first one open.
 */
export class Hl7Peer {
  readonly #client: Client;
  readonly #connection: ReturnType<Client['createConnection']>;
  readonly #answers: Message[] = [];
  #waiter: ((message: Message) => void) | undefined;

  private constructor(port: number, encoding: BufferEncoding) {
    this.#client = new Client({ host: '127.0.0.1' });
    this.#connection = this.#client.createConnection(
      { port, encoding, waitAck: true, maxConnectionAttempts: 1 },
      async (response) => {
        const message = response.getMessage();
        if (this.#waiter) this.#waiter(message);
        else this.#answers.push(message);
      },
    );
  }

  static async connect(port: number, encoding: BufferEncoding = 'utf-8'): Promise<Hl7Peer> {
    const peer = new Hl7Peer(port, encoding);
    await once(peer.#connection, 'connect');
    return peer;
  }

  /** Send one message; resolves with the ACK the client parsed. */
  async send(text: string): Promise<Message> {
    const answer = new Promise<Message>((resolve, reject) => {
      const queued = this.#answers.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => reject(new Error('no ACK in time')), 5000);
      this.#waiter = (message) => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve(message);
      };
    });
    await this.#connection.sendMessage(new Message({ text }));
    return answer;
  }

  async close(): Promise<void> {
    await this.#connection.close();
    this.#client.closeAll();
  }
}
