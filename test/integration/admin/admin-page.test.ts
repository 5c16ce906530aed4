import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BRIDGE_AE, disposeBridge, type TestBridge } from '../../helpers/bridge.js';
import { startOrthanc, type OrthancPacs } from '../../helpers/orthanc.js';
import { ADMIN_PASSWORD, ADMIN_USER, CT_SMALL, startAdminBridge } from './admin-fixture.js';

/*
 * The admin page in a real browser: headless Chromium (Debian package, never downloaded)
 * driven by playwright-core logs in, is told which field is wrong, adds a PACS node (a real
 * Orthanc), verifies it and sees the result. A screenshot is kept under test-artifacts/.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
let orthanc: OrthancPacs;
let bridge: TestBridge;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  orthanc = await startOrthanc({ aeTitle: 'PAGEPACS' });
  expect((await orthanc.upload(CT_SMALL)).Status).toBe('Success');
  bridge = await startAdminBridge();
  await orthanc.setModality('bridge', { aeTitle: BRIDGE_AE, host: '127.0.0.1', port: bridge.port });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers without user namespaces cannot run Chromium's sandbox.
    args: ['--no-sandbox'],
  });
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await disposeBridge(bridge);
  await orthanc?.stop();
});

describe('the admin page', () => {
  it('shows only the log-in form, with labelled fields and landmarks', async () => {
    await page.goto(`http://127.0.0.1:${bridge.app.reporting.httpPort}/admin/`);
    await expect.poll(() => page.locator('#login-section').isVisible()).toBe(true);
    expect(await page.locator('#app').isVisible()).toBe(false);
    expect(await page.getByRole('banner').count()).toBe(1);
    expect(await page.getByRole('main').count()).toBe(1);
    // Every control is named by its label (getByLabel finds it through the label).
    const controls = await page
      .locator('input, select')
      .evaluateAll((elements) => elements.map((element) => element.id));
    expect(controls.length).toBeGreaterThan(10);
    const unlabelled: string[] = [];
    for (const id of controls)
      if ((await page.locator(`label[for="${id}"]`).count()) !== 1) unlabelled.push(id);
    expect(unlabelled).toEqual([]);
  });

  it('refuses a wrong password, then logs in', async () => {
    await page.getByLabel('User name').fill(ADMIN_USER);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/refused/);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(() => page.locator('#whoami').textContent())
      .toBe(`Logged in as ${ADMIN_USER}`);
    expect(await page.getByRole('navigation', { name: 'Sections' }).isVisible()).toBe(true);
    expect(await page.locator('#local-aes').textContent()).toContain(BRIDGE_AE);
  });

  it('names the wrong field, then adds the node', async () => {
    await page.locator('#node-name').fill('orthanc');
    await page.locator('#node-aeTitle').fill('PAGE\\PACS');
    await page.locator('#node-host').fill('127.0.0.1');
    await page.locator('#node-port').fill(String(orthanc.dicomPort));
    await page.getByRole('button', { name: 'Add node' }).click();
    await expect
      .poll(() => page.locator('#node-error').textContent())
      .toMatch(/^aeTitle: .*backslash/);
    expect(await page.locator('#node-aeTitle').getAttribute('aria-invalid')).toBe('true');

    await page.locator('#node-aeTitle').fill('PAGEPACS');
    await page.getByRole('button', { name: 'Add node' }).click();
    await expect
      .poll(() => page.getByRole('button', { name: 'Verify node orthanc' }).count())
      .toBe(1);
    expect(await page.locator('#node-error').textContent()).toBe('');
    expect(bridge.app.retrievers.has('orthanc')).toBe(true);
  });

  it('verifies the node and shows the result', async () => {
    await page.getByRole('button', { name: 'Verify node orthanc' }).click();
    await expect
      .poll(() => page.locator('#verify-result').textContent(), { timeout: 60_000 })
      .toMatch(/Node orthanc verified/);
    const result = await page.locator('#verify-result').textContent();
    expect(result).toContain('C-ECHO: passed');
    expect(result).toContain('C-FIND: passed');
    expect(result).toContain('C-MOVE: passed');

    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('#associations').textContent()).toContain('PAGEPACS');
    expect(await page.locator('#queue').textContent()).toBe('Waiting 0, running 0');
    expect(await page.locator('#outbox-counts').textContent()).toContain('dead 0');
    await expect.poll(() => page.locator('#audit').textContent()).toContain('pacs-node orthanc');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}admin-page.png`, fullPage: true });
  });

  it('adds an allowed peer from the page', async () => {
    await page.locator('#peer-aeTitle').fill('PAGEPEER');
    await page.locator('#peer-host').fill('127.0.0.1');
    await page.getByRole('button', { name: 'Add peer' }).click();
    await expect.poll(() => page.locator('#peers').textContent()).toContain('PAGEPEER');
    expect(await page.getByRole('button', { name: 'Delete peer PAGEPEER' }).count()).toBe(1);
  });

  it('logs out to the log-in form', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('#login-section').isVisible()).toBe(true);
    const status = await page.evaluate(() =>
      fetch('/admin/api/nodes', { credentials: 'same-origin' }).then((r) => r.status),
    );
    expect(status).toBe(401);
  });
});
