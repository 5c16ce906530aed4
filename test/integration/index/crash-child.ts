/**
 * Child process for the crash test: commits a batch, says so, then dies by SIGKILL without
 * closing the index, as a crashing daemon would. Usage: crash-child.ts <db path>.
 */
import { StudyIndex } from '../../../src/index/study-index.js';
import { makeInstance } from './fixtures.js';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: crash-child.ts <db path>');
const index = StudyIndex.open(path);
index.commitInstances([
  makeInstance({ study: 1, series: 1, sop: 1, patient: { name: 'Müller^Jörg' } }),
  makeInstance({ study: 1, series: 1, sop: 2, patient: { name: 'Müller^Jörg' } }),
]);
process.stdout.write('committed\n', () => process.kill(process.pid, 'SIGKILL'));
