/**
 * A full garbage collection once the controller has been idle for a while after publishing.
 *
 * Each compile of a large repository leaves the previous whole state, its host states and
 * their texts behind as garbage (about 40 MB at 10,000 instances). V8 collects the old
 * generation only when it has grown enough, so a controller that receives push after push
 * carries several generations of dead states (its heap and RSS climb by about 40 MB per push
 * until a major GC). Collecting once, when nothing is running, brings the heap back to what
 * is live before the next push allocates again, so the next push's peak is one state and its
 * garbage rather than several.
 *
 * On by default in the controller role (`idleGcMs` 2000; the Controller class alone has it
 * off). Measured on the real push path at 10,000 instances (bench/controller README, session 5),
 * with pushes checked and compiled incrementally: a running controller holds 314-356 MiB between
 * pushes instead of 412-497 MiB (peak 395-400 MiB instead of 496-497), and the next push pays
 * a little (its heap limit starts low again): push to desired state 329-345 ms instead of
 * 206-254 ms (medians), about 0.2 s more CPU. Operators who care more about that latency than
 * about memory set `idleGcMs: 0`.
 *
 * The collector is V8's own `gc`, reached without the `--expose-gc` command-line flag (the
 * flag is set at run time, and a fresh context receives the function). When that is not
 * possible the collector does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Quiet time after a publication before collecting (a burst of pushes collects once). */
export const IDLE_GC_DELAY_MS = 2000;

let collector: (() => void) | undefined | null = null;

/** V8's full collection, or undefined when this runtime does not offer it. */
export function fullGc(): (() => void) | undefined {
  if (collector === null) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      collector = typeof gc === 'function' ? (gc as () => void) : undefined;
    } catch {
      collector = undefined;
    }
  }
  return collector;
}

/** Runs `collect` once `delayMs` have passed since the last `poke()` and `busy()` is false. */
export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  /** Collections run (for tests and logs). */
  runs = 0;

  private readonly collect: (() => void) | undefined;

  /** `collect`: the collection to run (default: V8's; null: none). A delay of 0 turns it off. */
  constructor(private readonly busy: () => boolean, private readonly delayMs = IDLE_GC_DELAY_MS, collect?: (() => void) | null) {
    this.collect = delayMs <= 0 ? undefined : collect === undefined ? fullGc() : collect ?? undefined;
  }

  /** Something was published: (re)start the quiet-time wait. */
  poke(): void {
    if (!this.collect) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.delayMs);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    // Work in progress (a push being checked): wait for the next quiet period instead.
    if (this.busy()) { this.poke(); return; }
    this.runs++;
    this.collect!();
  }
}
