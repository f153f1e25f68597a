// Checks each tfjs internal listed in tfjs_internals.ts against the installed tfjs, naming it when a tfjs
// release changes it (the tfjs range job runs this against the lowest and highest tfjs of the peer range).
import * as tf from '@tensorflow/tfjs';
import { describeEachBackend } from '@meprop/test-utils';
import { modelFromConfigFast, registeredClass, registeredVariable, TFJS_LAYERS_INTERNALS } from './tfjs_internals';

function internal(index: number): string {
  return `tfjs internal #${index} (${TFJS_LAYERS_INTERNALS[index]})`;
}

function fieldsOf(layer: object, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = (layer as Record<string, unknown>)[n];
    out[n] = v === null ? 'null' : v === undefined ? 'undefined' : v instanceof tf.layers.Layer ? 'Layer' : typeof v;
  }
  return out;
}

describeEachBackend('tfjs internals @meprop/layers relies on', () => {
  it(internal(0), () => {
    const factories: Record<string, () => object> = {
      Dense: () => tf.layers.dense({ units: 2 }),
      LSTM: () => tf.layers.lstm({ units: 2 }),
      LSTMCell: () => tf.layers.lstmCell({ units: 2 }),
      GRU: () => tf.layers.gru({ units: 2 }),
      GRUCell: () => tf.layers.gruCell({ units: 2 }),
      SimpleRNN: () => tf.layers.simpleRNN({ units: 2 }),
      SimpleRNNCell: () => tf.layers.simpleRNNCell({ units: 2 }),
      Sequential: () => tf.sequential(),
      Model: () => {
        const input = tf.input({ shape: [2] });
        return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 1 }).apply(input) as tf.SymbolicTensor });
      },
    };
    for (const [name, make] of Object.entries(factories)) {
      const entry = tf.serialization.SerializationMap.getMap().classNameMap[name];
      expect([name, Array.isArray(entry) && entry.length === 2 && typeof entry[1]]).toEqual([name, 'function']);
      // The registered constructor is the class the public factory instantiates.
      expect([name, make() instanceof registeredClass<new (...args: never[]) => object>(name)]).toEqual([name, true]);
    }
  });

  it(internal(1), () => {
    const original = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
    const copy = modelFromConfigFast('Sequential', JSON.parse(JSON.stringify(original.getConfig())));
    expect(copy).toBeInstanceOf(tf.Sequential);
    expect(copy.weights.map((w) => w.shape)).toEqual(original.weights.map((w) => w.shape));
    original.dispose();
    copy.dispose();
  });

  it(internal(2), () => {
    const dense = tf.layers.dense({ units: 3, inputShape: [2], activation: 'relu' });
    const model = tf.sequential({ layers: [dense] });
    expect(fieldsOf(dense, ['kernel', 'bias', 'activation'])).toEqual({ kernel: 'object', bias: 'object', activation: 'object' });
    const internals = dense as unknown as { kernel: tf.LayerVariable; activation: { apply(x: tf.Tensor): tf.Tensor } };
    expect(internals.kernel.shape).toEqual([2, 3]);
    tf.tidy(() => expect(Array.from(internals.activation.apply(tf.tensor1d([-1, 2])).dataSync())).toEqual([0, 2]));
    model.dispose();
  });

  it(internal(3), () => {
    const cellFields = [
      'kernel',
      'recurrentKernel',
      'bias',
      'useBias',
      'activation',
      'recurrentActivation',
      'units',
      'dropout',
      'recurrentDropout',
    ];
    const maskFields = ['dropoutMask', 'recurrentDropoutMask'];
    for (const make of [tf.layers.lstm, tf.layers.gru, tf.layers.simpleRNN]) {
      const layer = make({ units: 3, inputShape: [4, 2], dropout: 0.1 });
      const model = tf.sequential({ layers: [layer] });
      const cell = (layer as unknown as { cell: object }).cell;
      expect(cell).toBeInstanceOf(tf.layers.Layer);
      const fields = fieldsOf(cell, cellFields);
      expect(fields).toEqual({
        ...fields,
        kernel: 'object',
        recurrentKernel: 'object',
        bias: 'object',
        useBias: 'boolean',
        units: 'number',
        dropout: 'number',
      });
      expect(['function', 'undefined']).toContain(typeof (cell as Record<string, unknown>).dropoutFunc);
      // The masks exist as fields (null outside a call); tfjs's RNN resets them per sequence.
      for (const m of maskFields) expect([m, m in cell]).toEqual([m, true]);
      model.dispose();
    }
  });

  it(internal(4), () => {
    const v = tf.variable(tf.zeros([2]), true, 'meprop_internals_check_var');
    expect(registeredVariable('meprop_internals_check_var')).toBe(v);
    expect(registeredVariable('meprop_no_such_variable')).toBeUndefined();
    v.dispose();
  });
});
