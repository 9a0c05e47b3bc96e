package org.rlhfnode.runtime.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Hyper-parameters of a LoRA adapter, as PEFT's {@code LoraConfig} and OpenRLHF's flags name them:
 * each targeted projection W [out, in] gains A [r, in] and B [out, r] and computes
 * {@code y = x Wᵀ + dropout(x) Aᵀ Bᵀ · alpha / r}.
 *
 * @param rank r ≥ 1 ({@code --lora_rank}, PEFT {@code r})
 * @param alpha numerator of the scaling alpha / r, finite and &gt; 0 ({@code --lora_alpha})
 * @param dropout probability in [0, 1) of zeroing an input element of the adapter path while
 *     training ({@code --lora_dropout})
 * @param targetModules projections to adapt ({@code --target_modules}): {@value #ALL_LINEAR} alone,
 *     or names matched as PEFT matches a list: a module whose full name equals an entry or ends
 *     with {@code "." + entry} ({@code q_proj}, {@code self_attn.o_proj}, {@code w1}, ...)
 */
public record LoraConfig(int rank, double alpha, double dropout, List<String> targetModules) {
  /** PEFT's and OpenRLHF's shorthand for every projection except the output heads. */
  public static final String ALL_LINEAR = "all-linear";
  /** OpenRLHF's flag names. */
  public static final String FLAG_RANK = "--lora_rank";
  public static final String FLAG_ALPHA = "--lora_alpha";
  public static final String FLAG_DROPOUT = "--lora_dropout";
  public static final String FLAG_TARGET_MODULES = "--target_modules";
  /** OpenRLHF's defaults: rank 0 (LoRA off), alpha 16, dropout 0, all-linear. */
  public static final int DEFAULT_RANK = 0;
  public static final double DEFAULT_ALPHA = 16;
  public static final double DEFAULT_DROPOUT = 0;
  public static final List<String> DEFAULT_TARGET_MODULES = List.of(ALL_LINEAR);

  public LoraConfig {
    if (rank < 1) {
      throw new IllegalArgumentException("lora_rank must be ≥ 1, got " + rank);
    }
    if (!(alpha > 0) || Double.isInfinite(alpha)) {
      throw new IllegalArgumentException("lora_alpha must be finite and > 0, got " + alpha);
    }
    if (!(dropout >= 0 && dropout < 1)) {
      throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + dropout);
    }
    targetModules = checkTargets(targetModules);
  }

  private static List<String> checkTargets(List<String> targets) {
    if (targets == null || targets.isEmpty()) {
      throw new IllegalArgumentException("target_modules must name at least one module (or be " + ALL_LINEAR + ")");
    }
    List<String> out = new ArrayList<>();
    for (String t : targets) {
      String name = t == null ? "" : t.trim();
      if (name.isEmpty() || name.startsWith(".") || name.endsWith(".")) {
        throw new IllegalArgumentException("target_modules: '" + t + "' is not a module name");
      }
      boolean all = name.toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
      if (all && targets.size() > 1) {
        throw new IllegalArgumentException("target_modules: " + ALL_LINEAR + " cannot be combined with other names");
      }
      if (!out.contains(name)) {
        out.add(all ? ALL_LINEAR : name);
      }
    }
    return List.copyOf(out);
  }

  /**
   * The adapter OpenRLHF's flags ask for: empty when {@code --lora_rank} is 0 (LoRA off).
   *
   * @throws IllegalArgumentException naming the flag when a value is out of range
   */
  public static Optional<LoraConfig> fromFlags(int loraRank, double loraAlpha, double loraDropout,
      List<String> targetModules) {
    if (loraRank < 0) {
      throw new IllegalArgumentException(FLAG_RANK + " must be ≥ 0 (0 = no LoRA), got " + loraRank);
    }
    if (loraRank == 0) {
      return Optional.empty();
    }
    return Optional.of(new LoraConfig(loraRank, loraAlpha, loraDropout, targetModules));
  }

  /**
   * Splits a {@code --target_modules} value given as one string (HOCON, dotted flag form):
   * names separated by commas and/or whitespace.
   */
  public static List<String> parseTargetModules(String value) {
    List<String> out = new ArrayList<>();
    for (String part : value.trim().split("[,\\s]+")) {
      if (!part.isEmpty()) {
        out.add(part);
      }
    }
    return out;
  }

  /** The factor alpha / r applied to the adapter path. */
  public double scaling() {
    return alpha / rank;
  }

  /** Whether the targets are {@value #ALL_LINEAR}. */
  public boolean allLinear() {
    return targetModules.size() == 1 && targetModules.get(0).equals(ALL_LINEAR);
  }

  /** This config with other targets (used when a target list is resolved to module names). */
  public LoraConfig withTargetModules(List<String> targets) {
    return new LoraConfig(rank, alpha, dropout, targets);
  }
}
