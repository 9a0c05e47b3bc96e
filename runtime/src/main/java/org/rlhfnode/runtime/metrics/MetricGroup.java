package org.rlhfnode.runtime.metrics;

import java.util.List;
import java.util.Locale;

/**
 * What a metric is about, from its name: the report's chart sections and the TensorBoard tag prefix
 * ({@code rewards/reward_mean}), in the order a user reads them. The name is split at {@code _} and the
 * first matching rule wins: timing ({@code time_*}, {@code *_time_s}), KL (a {@code kl} word: {@code kl},
 * {@code kl_coef}, {@code kl_loss}, {@code policy_kl}), losses ({@code loss}), rewards ({@code reward},
 * {@code score}, {@code accuracy}, {@code margin}, {@code chosen}, {@code rejected}), lengths
 * ({@code length}, {@code len}, {@code truncated}), optimizer ({@code lr}, {@code grad_norm},
 * {@code clip_fraction}, {@code entropy}, {@code staleness}), throughput and memory ({@code per_s},
 * {@code bytes}, {@code samples}, {@code tokens}, {@code rss_mb}); anything else is "other".
 */
public enum MetricGroup {
  REWARDS("rewards", "Rewards"),
  KL("kl", "KL"),
  LOSSES("losses", "Losses"),
  LENGTHS("lengths", "Response lengths"),
  OPTIMIZER("optimizer", "Optimizer and policy"),
  TIMING("timing", "Phase times (s)"),
  THROUGHPUT("throughput", "Throughput and memory"),
  OTHER("other", "Other");

  private final String tag;
  private final String title;

  MetricGroup(String tag, String title) {
    this.tag = tag;
    this.title = title;
  }

  /** The TensorBoard tag prefix. */
  public String tag() {
    return tag;
  }

  /** The report's section heading. */
  public String title() {
    return title;
  }

  /** The group of metric {@code name}. */
  public static MetricGroup of(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    List<String> words = List.of(n.split("_"));
    if (n.startsWith("time_") || n.endsWith("_time_s") || n.endsWith("_seconds")) {
      return TIMING;
    }
    if (words.contains("kl")) {
      return KL;
    }
    if (words.contains("loss")) {
      return LOSSES;
    }
    if (words.stream().anyMatch(List.of("reward", "rewards", "score", "accuracy", "margin", "chosen", "rejected")::contains)) {
      return REWARDS;
    }
    if (words.stream().anyMatch(List.of("length", "len", "truncated")::contains)) {
      return LENGTHS;
    }
    if (words.contains("lr") || n.contains("grad_norm") || n.contains("clip") || words.contains("entropy")
        || words.contains("staleness")) {
      return OPTIMIZER;
    }
    if (n.endsWith("per_s") || words.contains("bytes") || words.contains("samples") || words.contains("tokens")
        || n.startsWith("rss")) {
      return THROUGHPUT;
    }
    return OTHER;
  }
}
