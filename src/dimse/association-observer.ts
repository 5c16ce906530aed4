import type { Logger } from 'pino';
import type { CloseReason } from './association.js';

/** Who associated and how it went; for metrics and the admin page. */
export interface AssociationSummary {
  callingAe: string;
  calledAe: string;
  /** The peer's address. */
  address: string;
  /** When the association was accepted (ISO 8601). */
  startedAt: string;
  /** C-STOREs answered success or warning (stored). */
  instancesStored: number;
  /** C-STOREs answered with a failure. */
  instancesFailed: number;
  reason: CloseReason;
}

/** Hooks the SCP calls as associations come and go; they must not throw. */
export interface AssociationObserver {
  rejected?(info: { callingAe: string; calledAe: string; address: string; why: string }): void;
  accepted?(info: { callingAe: string; calledAe: string; address: string }): void;
  /** A C-STORE was answered with `status`. */
  stored?(info: { callingAe: string; status: number }): void;
  closed?(summary: AssociationSummary): void;
}

/** The observers of one SCP; a hook that throws is logged and does not disturb the others. */
export class Observers {
  #list: AssociationObserver[] = [];
  #log: Logger | undefined;

  constructor(log?: Logger) {
    this.#log = log;
  }

  add(observer: AssociationObserver): void {
    this.#list.push(observer);
  }

  notify<K extends keyof AssociationObserver>(
    hook: K,
    info: Parameters<NonNullable<AssociationObserver[K]>>[0],
  ): void {
    for (const observer of this.#list) {
      try {
        (observer[hook] as ((value: typeof info) => void) | undefined)?.(info);
      } catch (error) {
        this.#log?.error({ err: error, hook }, 'association observer failed');
      }
    }
  }
}
