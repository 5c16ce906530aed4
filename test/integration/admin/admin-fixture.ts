import { join } from 'node:path';
import { startBridge, type TestBridge } from '../../helpers/bridge.js';
import { SAMPLES_DIR } from '../../helpers/samples.js';
import { runTool, type ToolResult } from '../../helpers/tools.js';

/* A bridge with admin credentials for the admin tests, and a small client of its admin API. */

export const ADMIN_USER = 'operator';
export const ADMIN_PASSWORD = 'correct-horse-battery-staple';
export const ADMIN_TOKEN = 'admin-token-5a1f0c7e';
export const CT_SMALL = join(SAMPLES_DIR, 'single', 'CT_small.dcm');

/** Start a bridge whose admin API takes ADMIN_USER/ADMIN_PASSWORD and ADMIN_TOKEN. */
export function startAdminBridge(
  overrides: Record<string, unknown> = {},
  dataDir?: string,
): Promise<TestBridge> {
  const admin = (overrides.admin as Record<string, unknown> | undefined) ?? {};
  return startBridge(
    {
      ...overrides,
      admin: { username: ADMIN_USER, password: ADMIN_PASSWORD, token: ADMIN_TOKEN, ...admin },
    },
    dataDir,
  );
}

export interface AdminAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Call the admin API on `port`; with the bearer token unless `auth` is false or a header. */
export async function adminCall<T = unknown>(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  auth: boolean | Record<string, string> = true,
): Promise<AdminAnswer<T>> {
  const headers: Record<string, string> =
    auth === true ? { authorization: `Bearer ${ADMIN_TOKEN}` } : auth === false ? {} : auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

/** DCMTK storescu of CT_small from `callingAe` to the bridge. */
export function storescu(port: number, callingAe: string, file = CT_SMALL): Promise<ToolResult> {
  return runTool('storescu', [
    '-aet',
    callingAe,
    '-aec',
    'FSEBRIDGE',
    '127.0.0.1',
    String(port),
    file,
  ]);
}
