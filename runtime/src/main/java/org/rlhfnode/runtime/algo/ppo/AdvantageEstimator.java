package org.rlhfnode.runtime.algo.ppo;

import java.util.Locale;

/**
 * The advantage estimators of algorithms.md §7.4–§7.5 under OpenRLHF's {@code --advantage_estimator}
 * names. {@code gae} uses the critic; the others are critic-free (A_t = G_t) and differ in the scalar
 * fed to the per-token reward: s_i itself ({@code reinforce}) or a statistic of its group of n
 * samples. Group estimators need n ≥ 2, force γ = 1, and only some are whitened (§7.6):
 *
 * <pre>
 * estimator            scalar                                  whitened  n
 * gae                  s_i (critic: δ, GAE)                    yes       ≥ 1
 * reinforce            s_i                                     yes       ≥ 1
 * reinforce_baseline   s_i − mean_g s                          yes       ≥ 2
 * group_norm           (s_i − mean_g s) / (std_g s + 1e-9)     no        ≥ 2
 * dr_grpo              s_i − mean_g s                          no        ≥ 2
 * rloo                 s_i − (Σ_g s − s_i)/(n − 1)             no        ≥ 2
 * </pre>
 */
public enum AdvantageEstimator {
  GAE("gae", false, true),
  REINFORCE("reinforce", false, true),
  REINFORCE_BASELINE("reinforce_baseline", true, true),
  GROUP_NORM("group_norm", true, false),
  DR_GRPO("dr_grpo", true, false),
  RLOO("rloo", true, false);

  private final String optionName;
  private final boolean groupBased;
  private final boolean whitened;

  AdvantageEstimator(String optionName, boolean groupBased, boolean whitened) {
    this.optionName = optionName;
    this.groupBased = groupBased;
    this.whitened = whitened;
  }

  /** OpenRLHF's name, as on the command line. */
  public String optionName() {
    return optionName;
  }

  /** True when the scalar uses group statistics: needs n ≥ 2 and forces γ = 1. */
  public boolean groupBased() {
    return groupBased;
  }

  /** True when §7.6 whitening applies (gae, reinforce, reinforce_baseline). */
  public boolean whitened() {
    return whitened;
  }

  /** True only for {@code gae}: the critic supplies V_old and trains on the returns. */
  public boolean usesCritic() {
    return this == GAE;
  }

  /** The smallest n_samples_per_prompt the estimator accepts. */
  public int minSamplesPerPrompt() {
    return groupBased ? 2 : 1;
  }

  /**
   * Throws with a message naming the option when n is too small: with n = 1 every group advantage
   * would be 0 (algorithms.md §7.5).
   */
  public void checkSamplesPerPrompt(int samplesPerPrompt) {
    if (samplesPerPrompt < minSamplesPerPrompt()) {
      throw new IllegalArgumentException("advantage_estimator " + optionName + " needs n_samples_per_prompt ≥ "
          + minSamplesPerPrompt() + " (it compares the samples of a prompt; with n = " + samplesPerPrompt
          + " every advantage would be 0), got " + samplesPerPrompt);
    }
  }

  /** The discount actually used: γ for gae and reinforce, 1 for the group estimators. */
  public double effectiveGamma(double gamma) {
    return groupBased ? 1.0 : gamma;
  }

  /** Parses OpenRLHF's name (case-insensitive); the error lists the accepted names. */
  public static AdvantageEstimator fromName(String name) {
    String key = name.trim().toLowerCase(Locale.ROOT);
    StringBuilder known = new StringBuilder();
    for (AdvantageEstimator e : values()) {
      if (e.optionName.equals(key)) {
        return e;
      }
      known.append(known.length() == 0 ? "" : ", ").append(e.optionName);
    }
    throw new IllegalArgumentException("advantage_estimator must be one of " + known + ", got '" + name + "'");
  }
}
