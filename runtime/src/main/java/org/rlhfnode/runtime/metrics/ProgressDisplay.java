package org.rlhfnode.runtime.metrics;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * A progress display for a training run on stderr: percentage, a bar, steps done, elapsed time, ETA,
 * steps per second and the live loss, e.g.
 * {@code train  42% [############.................]  420/1000 [01:24<01:56, 5.00 it/s] loss=1.2345}.
 *
 * <p>In {@link Mode#BAR} (stderr is a terminal) the line is redrawn in place with {@code \r}, at most
 * once per {@link #REDRAW_INTERVAL_NANOS}; in {@link Mode#PLAIN} (a pipe or a file, as in CI) a whole
 * line is printed each time another {@link #PLAIN_EVERY_PERCENT}% of the steps is done, so logs stay
 * readable; {@link Mode#OFF} prints nothing (ranks other than 0). Rates and the ETA count only the
 * steps done by this process, so a resumed run does not look faster than it is. Not thread-safe:
 * call it from the training loop.
 *
 * <p>Written without {@code me.tongfei:progressbar}, which the runtime module does not depend on.
 */
public final class ProgressDisplay implements AutoCloseable {
  /** Fastest redraw rate in {@link Mode#BAR}: five times a second. */
  public static final long REDRAW_INTERVAL_NANOS = 200_000_000L;
  /** Granularity of {@link Mode#PLAIN} output. */
  public static final int PLAIN_EVERY_PERCENT = 10;
  /** Environment variable that forces a mode: {@code bar}, {@code plain} or {@code off}. */
  public static final String MODE_ENV = "RLHF_PROGRESS";
  private static final int BAR_WIDTH = 30;
  private static final double NANOS_PER_SECOND = 1e9;

  /** How progress is shown. */
  public enum Mode {
    /** One line redrawn in place: for a terminal. */
    BAR,
    /** A new line every few percent: for logs. */
    PLAIN,
    /** Nothing. */
    OFF
  }

  private final String label;
  private final long totalSteps;
  private final long startStep;
  private final PrintStream out;
  private final Mode mode;
  private final LongSupplier nanoTime;
  private final long startNanos;
  private long step;
  private double loss = Double.NaN;
  private String valueName = "loss";
  private boolean lossKnown;
  private long lastDrawNanos = Long.MIN_VALUE;
  private int lastWidth;
  private long lastPlainBucket = -1;
  private long lastPlainStep = -1;
  private boolean finished;

  /**
   * @param label shown first, e.g. {@code "sft"}
   * @param totalSteps steps of the whole run, ≥ 1
   * @param startStep steps already done (the resumed checkpoint's step), 0 for a new run
   * @param nanoTime a clock such as {@link System#nanoTime}
   */
  public ProgressDisplay(String label, long totalSteps, long startStep, PrintStream out, Mode mode,
      LongSupplier nanoTime) {
    if (totalSteps < 1 || startStep < 0 || startStep > totalSteps) {
      throw new IllegalArgumentException("need 0 ≤ startStep ≤ totalSteps and totalSteps ≥ 1, got " + startStep
          + " and " + totalSteps);
    }
    this.label = Objects.requireNonNull(label, "label");
    this.totalSteps = totalSteps;
    this.startStep = startStep;
    this.out = out;
    this.mode = mode;
    this.nanoTime = nanoTime;
    this.startNanos = nanoTime.getAsLong();
    this.step = startStep;
    this.lastPlainBucket = bucket(startStep);
  }

  /** A display on {@link System#err} in the mode {@link #detectMode()} picks. */
  public static ProgressDisplay onStderr(String label, long totalSteps, long startStep) {
    return new ProgressDisplay(label, totalSteps, startStep, System.err, detectMode(), System::nanoTime);
  }

  /**
   * {@code RLHF_PROGRESS} if set; otherwise {@link Mode#BAR} when stderr is a terminal (on Linux,
   * {@code /proc/self/fd/2} points at a tty; elsewhere a console is attached) and {@code TERM} is not
   * {@code dumb}, and {@link Mode#PLAIN} when not.
   */
  public static Mode detectMode() {
    String forced = System.getenv(MODE_ENV);
    if (forced != null && !forced.isBlank()) {
      try {
        return Mode.valueOf(forced.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(MODE_ENV + "='" + forced + "' is not one of bar, plain, off", e);
      }
    }
    return stderrIsTerminal() && !"dumb".equals(System.getenv("TERM")) ? Mode.BAR : Mode.PLAIN;
  }

  private static boolean stderrIsTerminal() {
    Path fd2 = Path.of("/proc/self/fd/2");
    try {
      String target = Files.readSymbolicLink(fd2).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (IOException | UnsupportedOperationException e) {
      return System.console() != null;
    }
  }

  /** Shows the live value as {@code name=...} instead of {@code loss=...} (e.g. {@code reward}). */
  public ProgressDisplay showing(String name) {
    this.valueName = Objects.requireNonNull(name, "name");
    return this;
  }

  /** Records that {@code step} steps are done with this loss and redraws if due. */
  public void update(long step, double loss) {
    this.step = Math.min(Math.max(step, startStep), totalSteps);
    this.loss = loss;
    this.lossKnown = true;
    long now = nanoTime.getAsLong();
    if (mode == Mode.BAR) {
      boolean due = lastDrawNanos == Long.MIN_VALUE || now - lastDrawNanos >= REDRAW_INTERVAL_NANOS;
      if (due || this.step == totalSteps) {
        redraw(now);
      }
    } else if (mode == Mode.PLAIN && bucket(this.step) > lastPlainBucket) {
      printPlain(now);
    }
  }

  private long bucket(long s) {
    return s * 100 / totalSteps / PLAIN_EVERY_PERCENT;
  }

  private void redraw(long now) {
    String line = render(now);
    int pad = Math.max(0, lastWidth - line.length());
    out.print("\r" + line + " ".repeat(pad));
    out.flush();
    lastWidth = line.length();
    lastDrawNanos = now;
  }

  private void printPlain(long now) {
    out.println(render(now));
    out.flush();
    lastPlainBucket = bucket(step);
    lastPlainStep = step;
  }

  /** The status line at time {@code now}. */
  String render(long now) {
    double elapsed = (now - startNanos) / NANOS_PER_SECOND;
    long done = step - startStep;
    double rate = elapsed > 0 ? done / elapsed : Double.NaN;
    String eta = done > 0 && rate > 0 ? clock((totalSteps - step) / rate) : "?";
    long percent = step * 100 / totalSteps;
    StringBuilder b = new StringBuilder();
    b.append(label).append(' ').append(String.format(Locale.ROOT, "%3d%%", percent)).append(' ');
    if (mode == Mode.BAR) {
      int filled = (int) (step * BAR_WIDTH / totalSteps);
      b.append('[').append("#".repeat(filled)).append(".".repeat(BAR_WIDTH - filled)).append("] ");
    }
    int width = Long.toString(totalSteps).length();
    b.append(String.format(Locale.ROOT, "%" + width + "d/%d [%s<%s, %s it/s]", step, totalSteps, clock(elapsed), eta,
        Double.isNaN(rate) ? "?" : String.format(Locale.ROOT, "%.2f", rate)));
    if (lossKnown) {
      b.append(String.format(Locale.ROOT, " %s=%.4f", valueName, loss));
    }
    return b.toString();
  }

  /** {@code mm:ss}, or {@code h:mm:ss} from an hour on. */
  static String clock(double seconds) {
    long s = Math.round(Math.max(0, seconds));
    long h = s / 3600;
    return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
  }

  /** Draws the final state and ends the line; later calls do nothing. */
  public void finish() {
    if (finished) {
      return;
    }
    finished = true;
    long now = nanoTime.getAsLong();
    if (mode == Mode.BAR) {
      redraw(now);
      out.println();
      out.flush();
    } else if (mode == Mode.PLAIN && lastPlainStep != step) {
      printPlain(now);
    }
  }

  /** Same as {@link #finish()}. */
  @Override
  public void close() {
    finish();
  }
}
