import * as tf from '@tensorflow/tfjs';
import { isTfjsNodeInstalled, setupBackend, withoutNodeBanner } from './backend';

describe('setupBackend', () => {
  it("activates cpu and keeps tfjs's Node.js banner out of the output", async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await setupBackend('cpu');
      tf.tensor1d([1, 2]).dispose(); // the cpu backend's first write is already done: no banner later either
      expect(tf.getBackend()).toBe('cpu');
      expect(warn.mock.calls.flat().join(' ')).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
    } finally {
      warn.mockRestore();
    }
  });

  it('lets every other warning through', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      withoutNodeBanner(() => {
        console.warn('Hi, looks like you are running TensorFlow.js in Node.js. ...');
        console.warn('something else');
      });
      expect(warn.mock.calls).toEqual([['something else']]);
    } finally {
      warn.mockRestore();
    }
  });

  (isTfjsNodeInstalled() ? it.skip : it)('explains how to get the tensorflow backend when tfjs-node is missing', async () => {
    await expect(setupBackend('tensorflow')).rejects.toThrow(
      /--backend tensorflow needs @tensorflow\/tfjs-node .* not installed/,
    );
  });
});
