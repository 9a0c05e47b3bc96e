package org.rlhfnode.node.ppo;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.rlhfnode.node.settings.TrainSettings;
import org.rlhfnode.runtime.algo.ppo.DynamicFilter;
import org.rlhfnode.runtime.algo.ppo.MismatchCorrection;
import org.rlhfnode.runtime.algo.ppo.PolicyLoss;
import org.rlhfnode.runtime.algo.ppo.RemoteReward;
import org.rlhfnode.runtime.algo.ppo.RewardShaping;

/**
 * The PPO settings OpenRLHF users take from DAPO and GSPO, and remote rewards, read with OpenRLHF's
 * names and checked: {@code remote_rm_url} (with its timeout, attempts and backoff), the overlong penalty
 * ({@code overlong_buffer_len}, {@code overlong_penalty_factor}), dynamic sampling
 * ({@code dynamic_filtering}, {@code dynamic_filtering_reward_range}), the clip range
 * ({@code eps_clip_low_high}) and the policy loss ({@code policy_loss_type}, {@code gspo_correction}).
 * A setting that would have no effect in the given combination is refused rather than ignored. Errors
 * are one line naming the flag.
 */
final class ObjectiveSettings {
  private ObjectiveSettings() {}

  /** The remote reward endpoints, or null without {@code remote_rm_url}. */
  static RemoteReward.Options remote(TrainSettings s, Duration roleTimeout) {
    List<String> urls = s.list("ppo.remote_rm_url");
    if (urls.isEmpty()) {
      for (String k : List.of("ppo.remote_rm_timeout_s", "ppo.remote_rm_attempts", "ppo.remote_rm_backoff_ms")) {
        unusedWithout(s, k, "--remote_rm_url");
      }
      return null;
    }
    long timeout = s.longValue("ppo.remote_rm_timeout_s");
    int attempts = s.integer("ppo.remote_rm_attempts");
    long backoff = s.longValue("ppo.remote_rm_backoff_ms");
    if (timeout < 1 || attempts < 1 || backoff < 0) {
      throw new IllegalArgumentException("--remote_rm_timeout_s and --remote_rm_attempts must be ≥ 1 and "
          + "--remote_rm_backoff_ms ≥ 0, got " + timeout + ", " + attempts + ", " + backoff);
    }
    RemoteReward.Options o = new RemoteReward.Options(RemoteReward.Options.parseUrls(urls),
        Duration.ofSeconds(timeout), attempts, Duration.ofMillis(backoff));
    if (o.worstCase().compareTo(roleTimeout) >= 0) {
      throw new IllegalArgumentException("--remote_rm_timeout_s × --remote_rm_attempts plus the backoff waits ("
          + o.worstCase().toSeconds() + " s) must be below --role_timeout_s (" + roleTimeout.toSeconds()
          + " s), or the supervisor resends the scoring while the endpoint is still being tried");
    }
    return o;
  }

  /** Reward shaping of §7.3 with the overlong penalty when {@code overlong_buffer_len} is set. */
  static RewardShaping.Options shaping(TrainSettings s, int generateMaxLen, double clipLow, double clipHigh) {
    RewardShaping.Options o = RewardShaping.Options.DEFAULTS.withClip(clipLow, clipHigh);
    String raw = s.optString("ppo.overlong_buffer_len");
    if (raw == null) {
      unusedWithout(s, "ppo.overlong_penalty_factor", "--overlong_buffer_len");
      return o;
    }
    double b = number("--overlong_buffer_len", raw);
    if (b != Math.rint(b) || b < 1 || b > generateMaxLen) {
      throw new IllegalArgumentException("--overlong_buffer_len must be a whole number of tokens in [1, "
          + "--generate_max_len " + generateMaxLen + "], got " + raw.trim());
    }
    double f = s.number("ppo.overlong_penalty_factor");
    if (!(f >= 0) || Double.isInfinite(f)) {
      throw new IllegalArgumentException("--overlong_penalty_factor must be finite and ≥ 0, got " + f);
    }
    return o.withOverlong(generateMaxLen, (long) b, f);
  }

  /** The dynamic sampling filter, or null without {@code dynamic_filtering}. */
  static DynamicFilter dynamicFilter(TrainSettings s, int samplesPerPrompt) {
    if (!s.bool("ppo.dynamic_filtering")) {
      unusedWithout(s, "ppo.dynamic_filtering_reward_range", "--dynamic_filtering");
      return null;
    }
    double[] range = pair(s, "ppo.dynamic_filtering_reward_range");
    if (samplesPerPrompt < 2) {
      throw new IllegalArgumentException("--dynamic_filtering filters groups of samples of one prompt: it needs "
          + "--n_samples_per_prompt ≥ 2, got " + samplesPerPrompt);
    }
    if (!(range[0] < range[1])) {
      throw new IllegalArgumentException("--dynamic_filtering_reward_range needs LOW < HIGH, got " + range[0] + " "
          + range[1]);
    }
    return new DynamicFilter(range[0], range[1]);
  }

  /**
   * The policy loss: clip range from {@code eps_clip_low_high} (else {@code eps_clip} and
   * {@code eps_clip_high}), PPO or GSPO, and GSPO's way with a mismatch correction.
   */
  static PolicyLoss.Options policy(TrainSettings s, MismatchCorrection mismatch) {
    double eps = s.number("ppo.eps_clip");
    String hi = s.optString("ppo.eps_clip_high");
    double epsLow = eps;
    double epsHigh = hi == null ? eps : number("--eps_clip_high", hi);
    if (!s.list("ppo.eps_clip_low_high").isEmpty()) {
      if (hi != null) {
        throw new IllegalArgumentException("--eps_clip_low_high and --eps_clip_high both set the upper clip: give "
            + "one of them");
      }
      double[] lh = pair(s, "ppo.eps_clip_low_high");
      epsLow = lh[0];
      epsHigh = lh[1];
    }
    if (!(epsLow >= 0 && epsLow < 1) || !(epsHigh >= 0) || Double.isInfinite(epsHigh)) {
      throw new IllegalArgumentException("the clip range needs 0 ≤ ε_lo < 1 and ε_hi ≥ 0 (--eps_clip, "
          + "--eps_clip_high, --eps_clip_low_high), got " + epsLow + ", " + epsHigh);
    }
    String type = s.string("ppo.policy_loss_type").trim().toLowerCase(Locale.ROOT);
    if (!type.equals("ppo") && !type.equals("gspo")) {
      throw new IllegalArgumentException("--policy_loss_type must be ppo or gspo, got '" + type + "'");
    }
    PolicyLoss.GspoCorrection correction;
    try {
      correction = PolicyLoss.GspoCorrection.fromName(s.string("ppo.gspo_correction"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--gspo_correction " + e.getMessage());
    }
    if (correction != PolicyLoss.GspoCorrection.ROLLOUT_RATIO
        && (!type.equals("gspo") || mismatch == MismatchCorrection.NONE)) {
      throw new IllegalArgumentException("--gspo_correction " + correction.optionName() + " has no effect without "
          + "--policy_loss_type gspo and a mismatch correction (--mismatch_correction, or auto with --max_staleness ≥ 1)");
    }
    return PolicyLoss.Options.DEFAULTS.withClip(epsLow, epsHigh).withGspo(type.equals("gspo"))
        .withGspoCorrection(correction);
  }

  /** Refuses {@code path} set to anything but its default while the setting it needs is off. */
  private static void unusedWithout(TrainSettings s, String path, String needs) {
    com.typesafe.config.Config defaults = com.typesafe.config.ConfigFactory.defaultReference().getConfig("rlhf");
    com.typesafe.config.Config c = s.asConfig().getConfig("rlhf");
    Object given = c.getIsNull(path) ? null : c.getValue(path).unwrapped();
    Object byDefault = defaults.getIsNull(path) ? null : defaults.getValue(path).unwrapped();
    if (!PpoSettings.canonical(given).equals(PpoSettings.canonical(byDefault))) {
      throw new IllegalArgumentException("--" + path.substring(path.indexOf('.') + 1) + " has no effect without "
          + needs);
    }
  }

  private static double[] pair(TrainSettings s, String path) {
    List<String> v = s.list(path);
    String flag = "--" + path.substring(path.indexOf('.') + 1);
    if (v.size() != 2) {
      throw new IllegalArgumentException(flag + " needs two values (LOW HIGH), got " + String.join(" ", v));
    }
    return new double[] {number(flag, v.get(0)), number(flag, v.get(1))};
  }

  private static double number(String flag, String raw) {
    try {
      double v = Double.parseDouble(raw.trim());
      if (Double.isFinite(v)) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(flag + ": '" + raw.trim() + "' is not a number");
  }
}
