// meProp recurrent layers: LSTM, GRU and SimpleRNN whose cells run every time step's gate matmuls (x·W and
// h·U) through mePropMatMul. The cells subclass tfjs's own (same weights, build, config); only `call` is
// re-implemented, mirroring tfjs 4.22's cell math so the forward pass is identical.
//
// Which entries are kept: dy of x·W and of h·U is the same tensor in LSTM and SimpleRNN (the gate
// pre-activation gradient), so in 'per-example' and 'unified' mode both products keep the same entries:
// top-k over the joint pre-activation gradient of all gates. In GRU, x·W sees the joint [z, r, h] gradient;
// the recurrent products h·U_zr and (r⊙h)·U_h are separate matmuls and keep their own top-k. In 'random'
// mode each product draws its own entries.
import * as tf from '@tensorflow/tfjs-core';
import { serialization } from '@tensorflow/tfjs-core';
import type {
  GRUCellLayerArgs,
  GRULayerArgs,
  LSTMCellLayerArgs,
  LSTMLayerArgs,
  SimpleRNNCellLayerArgs,
  SimpleRNNLayerArgs,
} from '@tensorflow/tfjs-layers';
import { MePropConfig } from '@meprop/core';
import { mePropLayerMatMul } from './me_prop_mat_mul_op';
import { countKept } from './me_simp/activeness';
import { GRUCellClass, GRUClass, LSTMCellClass, LSTMClass, SimpleRNNCellClass, SimpleRNNClass } from './tfjs_classes';
import { layerMePropConfig, mePropConfigEntries, MePropLayerArgs, withDefaultName } from './me_prop_args';

type Kwargs = { [key: string]: unknown };

export type MePropLSTMCellArgs = LSTMCellLayerArgs & MePropLayerArgs;
export type MePropGRUCellArgs = GRUCellLayerArgs & MePropLayerArgs;
export type MePropSimpleRNNCellArgs = SimpleRNNCellLayerArgs & MePropLayerArgs;
export type MePropLSTMArgs = LSTMLayerArgs & MePropLayerArgs;
export type MePropGRUArgs = GRULayerArgs & MePropLayerArgs;
export type MePropSimpleRNNArgs = SimpleRNNLayerArgs & MePropLayerArgs;

function argsConfig(args: MePropLayerArgs, fn: string): MePropConfig {
  if (args === null || typeof args !== 'object') throw new Error(`${fn}: args must be an object, got ${String(args)}`);
  return layerMePropConfig({ k: args.k, mode: args.mode, seed: args.seed }, `${fn}: args`);
}

/**
 * Dropout masks as tfjs's cells make them: drawn once per sequence (the RNN layer clears them), ones
 * outside training. `count` masks when the cell has several gates.
 */
// tfjs's cells type dropoutFunc as `Function`, so that is what we can take from them.
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
function dropoutMasks(like: tf.Tensor, rate: number, training: boolean, count: number, dropoutFunc?: Function): tf.Tensor[] {
  const make = (): tf.Tensor => {
    const ones = tf.onesLike(like);
    if (!training) return ones;
    return dropoutFunc != null ? (dropoutFunc(ones, rate) as tf.Tensor) : tf.dropout(ones, rate);
  };
  return Array.from({ length: count }, () => tf.keep(make()));
}

function stepInputs(inputs: tf.Tensor | tf.Tensor[], count: number, cell: string): tf.Tensor[] {
  if (!Array.isArray(inputs) || inputs.length !== count) {
    throw new Error(`${cell} expects ${count} input tensors, got ${Array.isArray(inputs) ? inputs.length : 1}`);
  }
  return inputs;
}

const active = (rate: number): boolean => 0 < rate && rate < 1;

/** tfjs's LSTMCell with meProp on x·W and h·U. */
export class MePropLSTMCell extends LSTMCellClass {
  static override className = 'MeProp>LSTMCell';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropLSTMCellArgs) {
    const config = argsConfig(args, 'mePropLSTMCell');
    super(withDefaultName(args, 'me_prop_lstm_cell'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const training = kwargs['training'] === true;
      let [x, h] = stepInputs(inputs, 3, 'MePropLSTMCell');
      const c = (inputs as tf.Tensor[])[2];
      if (active(this.dropout) && this.dropoutMask == null) {
        this.dropoutMask = dropoutMasks(x, this.dropout, training, 4, this.dropoutFunc);
      }
      if (active(this.recurrentDropout) && this.recurrentDropoutMask == null) {
        this.recurrentDropoutMask = dropoutMasks(h, this.recurrentDropout, training, 4, this.dropoutFunc);
      }
      // Like tfjs 4.22 (its "implementation 2"), only the first of the four masks is applied.
      if (active(this.dropout)) x = tf.mul(x, (this.dropoutMask as tf.Tensor[])[0]);
      if (active(this.recurrentDropout)) h = tf.mul(h, (this.recurrentDropoutMask as tf.Tensor[])[0]);
      let z = countKept(
        this,
        tf.add(
          mePropLayerMatMul(x, this.kernel.read(), this.mePropConfig),
          mePropLayerMatMul(h, this.recurrentKernel.read(), this.mePropConfig),
        ),
      );
      if (this.useBias) z = tf.add(z, this.bias.read());
      const [z0, z1, z2, z3] = tf.split(z, 4, z.rank - 1);
      const i = this.recurrentActivation.apply(z0);
      const f = this.recurrentActivation.apply(z1);
      const cNext = tf.add(tf.mul(f, c), tf.mul(i, this.activation.apply(z2)));
      const o = this.recurrentActivation.apply(z3);
      const hNext = tf.mul(o, this.activation.apply(cNext));
      return [hNext, hNext, cNext];
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropLSTMCell);

/** tfjs's GRUCell (reset gate applied before the recurrent product) with meProp on its three matmuls. */
export class MePropGRUCell extends GRUCellClass {
  static override className = 'MeProp>GRUCell';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropGRUCellArgs) {
    const config = argsConfig(args, 'mePropGRUCell');
    super(withDefaultName(args, 'me_prop_gru_cell'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const training = kwargs['training'] === true;
      let [x, h] = stepInputs(inputs, 2, 'MePropGRUCell');
      if (active(this.dropout) && this.dropoutMask == null) {
        this.dropoutMask = dropoutMasks(x, this.dropout, training, 3, this.dropoutFunc);
      }
      if (active(this.recurrentDropout) && this.recurrentDropoutMask == null) {
        this.recurrentDropoutMask = dropoutMasks(h, this.recurrentDropout, training, 3, this.dropoutFunc);
      }
      if (active(this.dropout)) x = tf.mul(x, (this.dropoutMask as tf.Tensor[])[0]);
      let matrixX = countKept(this, mePropLayerMatMul(x, this.kernel.read(), this.mePropConfig));
      if (this.useBias) matrixX = tf.add(matrixX, this.bias.read());
      if (active(this.recurrentDropout)) h = tf.mul(h, (this.recurrentDropoutMask as tf.Tensor[])[0]);
      const u = this.recurrentKernel.read();
      const [u1, u2] = tf.split(u, [2 * this.units, this.units], u.rank - 1);
      const matrixInner = mePropLayerMatMul(h, u1, this.mePropConfig);
      const [xZ, xR, xH] = tf.split(matrixX, 3, matrixX.rank - 1);
      const [recZ, recR] = tf.split(matrixInner, 2, matrixInner.rank - 1);
      const z = this.recurrentActivation.apply(tf.add(xZ, recZ));
      const r = this.recurrentActivation.apply(tf.add(xR, recR));
      const recH = mePropLayerMatMul(tf.mul(r, h), u2, this.mePropConfig);
      const hh = this.activation.apply(tf.add(xH, recH));
      const hNext = tf.add(tf.mul(z, h), tf.mul(tf.add(1, tf.neg(z)), hh));
      return [hNext, hNext];
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropGRUCell);

/** tfjs's SimpleRNNCell with meProp on x·W and h·U. */
export class MePropSimpleRNNCell extends SimpleRNNCellClass {
  static override className = 'MeProp>SimpleRNNCell';
  readonly mePropConfig: MePropConfig;

  constructor(args: MePropSimpleRNNCellArgs) {
    const config = argsConfig(args, 'mePropSimpleRNNCell');
    super(withDefaultName(args, 'me_prop_simple_rnn_cell'));
    this.mePropConfig = config;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const training = kwargs['training'] === true;
      let [x, h] = stepInputs(inputs, 2, 'MePropSimpleRNNCell');
      if (active(this.dropout) && this.dropoutMask == null) {
        this.dropoutMask = dropoutMasks(x, this.dropout, training, 1, this.dropoutFunc)[0];
      }
      if (active(this.recurrentDropout) && this.recurrentDropoutMask == null) {
        this.recurrentDropoutMask = dropoutMasks(h, this.recurrentDropout, training, 1, this.dropoutFunc)[0];
      }
      if (this.dropoutMask != null) x = tf.mul(x, this.dropoutMask as tf.Tensor);
      let out = mePropLayerMatMul(x, this.kernel.read(), this.mePropConfig);
      if (this.bias != null) out = tf.add(out, this.bias.read());
      if (this.recurrentDropoutMask != null) h = tf.mul(h, this.recurrentDropoutMask as tf.Tensor);
      out = countKept(this, tf.add(out, mePropLayerMatMul(h, this.recurrentKernel.read(), this.mePropConfig)));
      if (this.activation != null) out = this.activation.apply(out);
      return [out, out];
    });
  }

  override getConfig(): serialization.ConfigDict {
    return { ...super.getConfig(), ...mePropConfigEntries(this.mePropConfig) };
  }
}
serialization.registerClass(MePropSimpleRNNCell);

/** Replaces the cell tfjs's layer constructor made (it has no weights yet) with ours. */
function setCell(layer: object, cell: object): void {
  (layer as { cell: object }).cell = cell;
}

/** tf.layers.lstm with meProp on the gate matmuls of every time step. */
export class MePropLSTM extends LSTMClass {
  static override className = 'MeProp>LSTM';
  constructor(args: MePropLSTMArgs) {
    argsConfig(args, 'mePropLSTM');
    const named = withDefaultName(args, 'me_prop_lstm');
    super({ ...named });
    // The cell is named after its layer, as tfjs's own cells are (they take the layer's args).
    setCell(this, new MePropLSTMCell({ ...named }));
  }
}
serialization.registerClass(MePropLSTM);

/** tf.layers.gru with meProp on the gate matmuls of every time step. */
export class MePropGRU extends GRUClass {
  static override className = 'MeProp>GRU';
  constructor(args: MePropGRUArgs) {
    argsConfig(args, 'mePropGRU');
    const named = withDefaultName(args, 'me_prop_gru');
    super({ ...named });
    // The cell is named after its layer, as tfjs's own cells are (they take the layer's args).
    setCell(this, new MePropGRUCell({ ...named }));
  }
}
serialization.registerClass(MePropGRU);

/** tf.layers.simpleRNN with meProp on the matmuls of every time step. */
export class MePropSimpleRNN extends SimpleRNNClass {
  static override className = 'MeProp>SimpleRNN';
  constructor(args: MePropSimpleRNNArgs) {
    argsConfig(args, 'mePropSimpleRNN');
    const named = withDefaultName(args, 'me_prop_simple_rnn');
    super({ ...named });
    // The cell is named after its layer, as tfjs's own cells are (they take the layer's args).
    setCell(this, new MePropSimpleRNNCell({ ...named }));
  }
}
serialization.registerClass(MePropSimpleRNN);

export function mePropLSTM(args: MePropLSTMArgs): MePropLSTM {
  return new MePropLSTM(args);
}
export function mePropGRU(args: MePropGRUArgs): MePropGRU {
  return new MePropGRU(args);
}
export function mePropSimpleRNN(args: MePropSimpleRNNArgs): MePropSimpleRNN {
  return new MePropSimpleRNN(args);
}
/** Cells for tf.layers.rnn({ cell: mePropLSTMCell({...}) }). */
export function mePropLSTMCell(args: MePropLSTMCellArgs): MePropLSTMCell {
  return new MePropLSTMCell(args);
}
export function mePropGRUCell(args: MePropGRUCellArgs): MePropGRUCell {
  return new MePropGRUCell(args);
}
export function mePropSimpleRNNCell(args: MePropSimpleRNNCellArgs): MePropSimpleRNNCell {
  return new MePropSimpleRNNCell(args);
}
