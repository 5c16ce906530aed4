import { defineConfig } from 'vitest/config';

/*
 * Two projects. `unit` needs nothing but Node: no DICOM tool, PACS, S3 server or browser.
 * `integration` talks to the real peers (DCMTK, GDCM, Orthanc, Chromium, xmllint, dciodvfy,
 * unzip) and to a Ceph S3 server that its global setup starts.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
    ],
  },
});
