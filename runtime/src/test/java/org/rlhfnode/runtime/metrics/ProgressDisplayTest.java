package org.rlhfnode.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressDisplayTest {
  private static final long MS = 1_000_000L;
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
  private final AtomicLong clock = new AtomicLong(1_000 * MS);

  private String output() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void plainModePrintsOneLinePerTenPercentForLogs() {
    try (ProgressDisplay p = new ProgressDisplay("sft", 100, 0, out, ProgressDisplay.Mode.PLAIN, clock::get)) {
      for (int s = 1; s <= 100; s++) {
        clock.addAndGet(100 * MS);
        p.update(s, 2.0 - s / 100.0);
      }
    }
    String[] lines = output().split("\n");
    assertEquals(10, lines.length, output());
    assertFalse(output().contains("\r"));
    assertEquals("sft  10%  10/100 [00:01<00:09, 10.00 it/s] loss=1.9000", lines[0]);
    assertTrue(lines[9].startsWith("sft 100% 100/100 [00:10<00:00"), lines[9]);
  }

  @Test
  void barModeRedrawsInPlaceAtMostFiveTimesASecond() {
    ProgressDisplay p = new ProgressDisplay("dpo", 1000, 0, out, ProgressDisplay.Mode.BAR, clock::get);
    for (int s = 1; s <= 1000; s++) {
      clock.addAndGet(2 * MS); // 500 steps per second: 2 s in all
      p.update(s, 0.5);
    }
    assertFalse(output().contains("\n"), "a terminal bar never scrolls while running");
    long redraws = output().chars().filter(c -> c == '\r').count();
    assertTrue(redraws >= 10 && redraws <= 12, redraws + " redraws");
    p.finish();
    assertTrue(output().endsWith("\n"));
    String last = output().substring(output().lastIndexOf('\r') + 1).trim();
    assertEquals("dpo 100% [##############################] 1000/1000 [00:02<00:00, 500.00 it/s] loss=0.5000", last);
  }

  @Test
  void etaOfAResumedRunCountsOnlyStepsDoneSinceTheStart() {
    ProgressDisplay p = new ProgressDisplay("sft", 100, 50, out, ProgressDisplay.Mode.PLAIN, clock::get);
    clock.addAndGet(10_000 * MS);
    p.update(60, 1.25);
    assertEquals("sft  60%  60/100 [00:10<00:40, 1.00 it/s] loss=1.2500", p.render(clock.get()));
    assertEquals("1:01:05", ProgressDisplay.clock(3665));
  }

  @Test
  void offModePrintsNothing() {
    try (ProgressDisplay p = new ProgressDisplay("rm", 10, 0, out, ProgressDisplay.Mode.OFF, clock::get)) {
      p.update(10, 1);
    }
    assertEquals("", output());
  }
}
