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
 * Off by default (`idleGcMs: 0`): measured on the real push path (bench/controller README,
 * session 4 second round) it holds the controller's RSS between pushes at 290-335 MiB instead
 * of 380-540 MiB, but the next push pays for it (the heap limit starts low again, so the push
 * runs more major collections): about +0.4 s of CPU and +0.3 s from push to desired state.
 * Operators who care more about memory than latency turn it on (RINGSTACK_CONTROLLER_IDLE_GC_MS).
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
