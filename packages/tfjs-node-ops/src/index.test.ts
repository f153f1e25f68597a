import * as tf from '@tensorflow/tfjs';
import { testBackends, useBackend } from '@meprop/test-utils';

import { loadNativeOps } from './index';

// The native ops exist only for tfjs-node: this suite runs when MEPROP_TEST_BACKENDS includes tensorflow
// (CI's tensorflow step, after tools/provision-tfjs-node.sh built the addon), where a failure to load is an error.
const run = testBackends().includes('tensorflow') ? describe : describe.skip;

run('loadNativeOps [tensorflow]', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
  });

  it('registers the ops in the libtensorflow tfjs-node runs and passes the self-test', () => {
    const status = loadNativeOps();
    expect(status.reason).toBeNull();
    expect(status.loaded).toBe(true);
    expect(status.ops).toContain('MePropSelfTest');
  });

  it('returns the same status on later calls, and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    expect(loadNativeOps()).toBe(loadNativeOps());
    expect(tf.memory().numTensors).toBe(before);
  });
});
