import { isTfjsNodeInstalled, setupBackend } from './backend';

describe('setupBackend', () => {
  it('activates cpu', async () => {
    await setupBackend('cpu');
  });

  (isTfjsNodeInstalled() ? it.skip : it)('explains how to get the tensorflow backend when tfjs-node is missing', async () => {
    await expect(setupBackend('tensorflow')).rejects.toThrow(/--backend tensorflow needs @tensorflow\/tfjs-node .* not installed/);
  });
});
