// Progress for long runs: a cli-progress bar on a TTY, plain timestamped lines otherwise (CI logs).
import * as cliProgress from 'cli-progress';

export interface ProgressTask {
  /** fraction in [0, 1] of this task; `note` replaces the status text. */
  update(fraction: number, note?: string): void;
  done(note?: string): void;
}

export interface Progress {
  task(label: string): ProgressTask;
  /** A line of output that does not disturb the bar. */
  log(line: string): void;
}

/** Plain lines: one when a task starts, every further 10%, and when it ends. */
export function lineProgress(write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Progress {
  const stamp = (): string => new Date().toISOString().slice(11, 19);
  return {
    log: (line) => write(line),
    task(label) {
      let lastTenth = 0; // the "started" line stands for 0%
      write(`[${stamp()}] ${label}: started`);
      return {
        update(fraction, note) {
          const tenth = Math.floor(Math.min(1, Math.max(0, fraction)) * 10);
          if (tenth > lastTenth && tenth < 10) {
            lastTenth = tenth;
            write(`[${stamp()}] ${label}: ${tenth * 10}%${note ? ` ${note}` : ''}`);
          }
        },
        done(note) {
          write(`[${stamp()}] ${label}: done${note ? ` ${note}` : ''}`);
        },
      };
    },
  };
}

function barProgress(): Progress {
  const stream = process.stderr;
  return {
    log: (line) => stream.write(`${line}\n`),
    task(label) {
      const bar = new cliProgress.SingleBar(
        {
          format: `${label.padEnd(34).slice(0, 34)} [{bar}] {percentage}% {note}`,
          stream,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(1000, 0, { note: '' });
      return {
        update(fraction, note) {
          bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000), { note: note ?? '' });
        },
        done(note) {
          bar.update(1000, { note: note ?? 'done' });
          bar.stop();
        },
      };
    },
  };
}

/** Nothing at all (tests, --quiet). */
export function silentProgress(): Progress {
  return { log: () => undefined, task: () => ({ update: () => undefined, done: () => undefined }) };
}

/** Bars when stderr is a terminal, plain lines otherwise. */
export function autoProgress(): Progress {
  return process.stderr.isTTY ? barProgress() : lineProgress();
}
