package org.rlhfnode.runtime.algo.ppo;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.generate.FinishReason;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;

/**
 * Turns prompts into {@link Experience} (algorithms.md §7, §10): n seeded samples per prompt from the
 * actor, then scoring passes without gradient in micro-batches — lp_old with the actor's training
 * forward (not the sampler's numbers), lp_ref with the reference, V_old with the critic (GAE only) —
 * the sequence scores, reward shaping (§7.3, KL in the reward with the controller's current β), the
 * estimator's advantages and returns (§7.4–§7.5) and whitening (§7.6) over the whole rollout.
 */
public final class ExperienceMaker {
  /**
   * Rollout settings (OpenRLHF names in brackets).
   *
   * @param samplesPerPrompt n [n_samples_per_prompt]
   * @param generateMaxLen response budget in tokens [generate_max_len]
   * @param temperature τ &gt; 0; also used for lp_old and lp_ref [temperature]
   * @param topK 0 = off
   * @param topP in (0, 1] [top_p]
   * @param ignoreEos keep sampling past EOS up to the budget
   * @param microRolloutBatchSize rows per scoring forward [micro_rollout_batch_size]
   * @param estimator [advantage_estimator]
   * @param klEstimator k1/k2/k3 for the KL in the reward [kl_estimator]
   * @param gamma γ [gamma]
   * @param lambda λ [lambd]
   * @param noStdNorm whiten by centring only [no_advantage_std_norm]
   * @param klAsLoss KL goes into the actor loss instead of the reward (β := 0 here) [use_kl_loss]
   * @param shaping length penalties and the score clip
   */
  public record Options(int samplesPerPrompt, int generateMaxLen, double temperature, int topK, double topP,
      boolean ignoreEos, int microRolloutBatchSize, AdvantageEstimator estimator, KlEstimator klEstimator,
      double gamma, double lambda, boolean noStdNorm, boolean klAsLoss, RewardShaping.Options shaping) {
    public Options {
      estimator.checkSamplesPerPrompt(samplesPerPrompt);
      if (generateMaxLen < 1) {
        throw new IllegalArgumentException("generateMaxLen must be ≥ 1, got " + generateMaxLen);
      }
      if (microRolloutBatchSize < 1) {
        throw new IllegalArgumentException("microRolloutBatchSize must be ≥ 1, got " + microRolloutBatchSize);
      }
      if (!(temperature > 0)) {
        throw new IllegalArgumentException("temperature must be > 0, got " + temperature);
      }
    }

    /** OpenRLHF's defaults (§12) for an estimator, n and a budget: τ = 1, γ = λ = 1, k1 in the reward. */
    public static Options defaults(AdvantageEstimator estimator, int samplesPerPrompt, int generateMaxLen) {
      return new Options(samplesPerPrompt, generateMaxLen, 1.0, 0, 1.0, false, 8, estimator, KlEstimator.K1,
          1.0, 1.0, false, false, RewardShaping.Options.DEFAULTS);
    }

    /** The same settings with another temperature. */
    public Options withTemperature(double t) {
      return new Options(samplesPerPrompt, generateMaxLen, t, topK, topP, ignoreEos, microRolloutBatchSize,
          estimator, klEstimator, gamma, lambda, noStdNorm, klAsLoss, shaping);
    }

    /** The same settings with {@code ignoreEos}. */
    public Options withIgnoreEos(boolean on) {
      return new Options(samplesPerPrompt, generateMaxLen, temperature, topK, topP, on, microRolloutBatchSize,
          estimator, klEstimator, gamma, lambda, noStdNorm, klAsLoss, shaping);
    }

    /** The same settings with γ and λ. */
    public Options withGammaLambda(double g, double l) {
      return new Options(samplesPerPrompt, generateMaxLen, temperature, topK, topP, ignoreEos, microRolloutBatchSize,
          estimator, klEstimator, g, l, noStdNorm, klAsLoss, shaping);
    }
  }

  private final Options options;
  private final CausalLm actor;
  private final CausalLm reference;
  private final CausalLm critic;
  private final SequenceReward reward;
  private final KlController klController;
  private final GenerationEngine engine;

  /**
   * @param reference the frozen reference policy, or null (no KL penalty then)
   * @param critic the value model with a score head; required for {@code gae}, ignored otherwise
   * @param klController β for the KL in the reward (read at each {@link #make})
   */
  public ExperienceMaker(Options options, CausalLm actor, CausalLm reference, CausalLm critic,
      SequenceReward reward, KlController klController) {
    if (options.estimator().usesCritic() && (critic == null || !critic.hasScoreHead())) {
      throw new IllegalArgumentException("advantage_estimator gae needs a critic with a score head");
    }
    this.options = options;
    this.actor = actor;
    this.reference = reference;
    this.critic = options.estimator().usesCritic() ? critic : null;
    this.reward = reward;
    this.klController = klController;
    this.engine = new GenerationEngine(actor);
  }

  public Options options() {
    return options;
  }

  /**
   * One rollout: n samples for each prompt (rows grouped by prompt), scored and shaped.
   *
   * @param prompts prompt token ids
   * @param seed seeds every sample's sampler; the same seed and weights give the same experience
   * @param policyVersion the actor's weight version, recorded in the experience
   */
  public Experience make(List<long[]> prompts, long seed, long policyVersion) {
    List<long[]> samplePrompts = new ArrayList<>();
    List<GenerationRequest> requests = new ArrayList<>();
    SplittableRandom seeds = new SplittableRandom(seed);
    SamplingParams base = SamplingParams.sample(options.generateMaxLen(), options.temperature(), options.topK(),
        options.topP(), 0).withStops(null, options.ignoreEos());
    for (long[] p : prompts) {
      for (int k = 0; k < options.samplesPerPrompt(); k++) {
        samplePrompts.add(p.clone());
        requests.add(new GenerationRequest(p, base.withSeed(seeds.nextLong())));
      }
    }
    List<GenerationResult> results = engine.generate(requests);
    List<long[]> responses = new ArrayList<>();
    List<float[]> logProbs = new ArrayList<>();
    boolean[] truncated = new boolean[results.size()];
    for (int i = 0; i < results.size(); i++) {
      GenerationResult r = results.get(i);
      responses.add(r.newTokens());
      logProbs.add(r.logProbs());
      truncated[i] = r.finishReason() == FinishReason.LENGTH;
    }
    RolloutRows rows = RolloutRows.of(samplePrompts, responses, logProbs, truncated, padId());
    double[] scores = reward.score(samplePrompts, responses);
    int micro = options.microRolloutBatchSize();
    float[] oldLogProbs = ScoringPass.logProbs(actor, rows, options.temperature(), micro);
    boolean needRef = reference != null && needsReference(options, klController);
    float[] refLogProbs = needRef ? ScoringPass.logProbs(reference, rows, options.temperature(), micro) : null;
    float[] values = critic == null ? null : ScoringPass.values(critic, rows, micro);
    return assemble(options, klController, rows, scores, oldLogProbs, refLogProbs, values, policyVersion);
  }

  /** Whether lp_ref is needed: KL as a loss, or a KL coefficient above 0 in the reward. */
  public static boolean needsReference(Options options, KlController klController) {
    return options.klAsLoss() || klController.value() > 0;
  }

  /** KL_obs of §9 for the controller: mean over samples of the per-sequence mean of k(lp_old − lp_ref). */
  public double observedKl(Experience e) {
    return observedKl(options.klEstimator(), e);
  }

  /** KL_obs of §9 with estimator {@code k}; 0 without reference log-probs. */
  public static double observedKl(KlEstimator k, Experience e) {
    if (e.refLogProbs() == null) {
      return 0.0;
    }
    try (PointerScope scope = new PointerScope()) {
      long[] shape = {e.batchSize(), e.actionFrame()};
      Tensor kl = k.between(Tensors.floats(e.oldLogProbs(), shape), Tensors.floats(e.refLogProbs(), shape)); // [B, T]
      return KlController.observedKl(kl, Tensors.floats(e.actionMask(), shape));
    }
  }

  /**
   * The experience of one rollout from its rows and its scoring passes (§7.3–§7.6): sequence rewards
   * with length penalties, group baselines and the clip, the per-token KL penalty with the controller's
   * current β, the estimator's advantages and returns, and whitening over the whole rollout.
   *
   * @param scores s_i of each sample, before shaping
   * @param oldLp [B, T] lp_old
   * @param refLp [B, T] lp_ref, or null (no KL penalty)
   * @param values [B, T] V_old, or null for critic-free estimators
   */
  public static Experience assemble(Options options, KlController klController, RolloutRows rows, double[] scores,
      float[] oldLp, float[] refLp, float[] values, long policyVersion) {
    if (scores.length != rows.batch()) {
      throw new IllegalStateException("the reward returned " + scores.length + " scores for " + rows.batch()
          + " samples");
    }
    if (options.estimator().usesCritic() && values == null) {
      throw new IllegalArgumentException("advantage_estimator gae needs critic values");
    }
    long[] shape = {rows.batch(), rows.length() - 1};
    try (PointerScope scope = new PointerScope()) {
      Tensor mask = Tensors.floats(rows.actionMaskView(), shape); // [B, T] a
      int batch = rows.batch();
      float[] scoreArray = new float[batch];
      float[] lengths = new float[batch];
      float[] truncated = new float[batch];
      for (int i = 0; i < batch; i++) {
        scoreArray[i] = (float) scores[i];
        lengths[i] = rows.responseLength(i);
        truncated[i] = rows.isTruncated(i) ? 1f : 0f;
      }
      Tensor s = RewardShaping.sequenceRewards(options.shaping(), options.estimator(), options.samplesPerPrompt(),
          Tensors.floats(scoreArray, batch), Tensors.floats(lengths, batch),
          Tensors.floats(truncated, batch)); // [B]
      Tensor kl = refLp == null ? null
          : options.klEstimator().between(Tensors.floats(oldLp, shape), Tensors.floats(refLp, shape)); // [B, T]
      double beta = refLp == null ? 0.0 : klController.value();
      Tensor r = RewardShaping.perTokenRewards(kl, mask, s, beta, options.klAsLoss()); // [B, T]
      Advantages.Result ar = Advantages.compute(options.estimator(), r,
          values == null ? null : Tensors.floats(values, shape), mask, options.gamma(), options.lambda());
      Tensor adv = ar.advantages(); // [B, T]
      if (options.estimator().whitened()) {
        adv = Advantages.whiten(adv, mask, options.noStdNorm());
      }
      return new Experience(batch, rows.length(), options.samplesPerPrompt(), rows.idsView(), rows.attentionView(),
          rows.actionMaskView(), rows.rolloutLogProbsView(), oldLp, refLp, values, Tensors.toFloats(r), Tensors.toFloats(adv),
          Tensors.toFloats(ar.returns()), scores, rows.truncated(), policyVersion);
    }
  }

  private long padId() {
    Long pad = actor.config().padTokenId();
    return pad == null ? 0L : pad;
  }
}
