/** The /v2 API on the file store (as `agora local` runs it). */
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import type { Marathon } from '../../src/marathon.js';
import { apiContract } from './contract.js';
import { apiContractV2 } from './contract-v2.js';
import { startMarathon } from './harness.js';

let dir = '';
let marathon: Marathon | undefined;

const test = suite('marathon API - /v2 with the file store');
test.before(async () => {
  dir = await tempDir('agora-marathon-api-');
  marathon = await startMarathon({ stateDir: dir });
});
test.after(async () => {
  await marathon?.close();
  await removeTempDir(dir);
});

apiContract(test, {
  marathon: () => marathon!,
  async restart() {
    await marathon?.close();
    marathon = await startMarathon({ stateDir: dir });
  },
});

apiContractV2(test, {
  marathon: () => marathon!,
  async restart() {
    await marathon?.close();
    marathon = await startMarathon({ stateDir: dir });
  },
});

test.run();
