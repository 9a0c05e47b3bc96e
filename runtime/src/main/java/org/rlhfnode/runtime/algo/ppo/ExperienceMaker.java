package org.rlhfnode.runtime.algo.ppo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.algo.TokenLogProbs;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.generate.FinishReason;
import org.rlhfnode.runtime.generate.GenerationEngine;
import org.rlhfnode.runtime.generate.GenerationRequest;
import org.rlhfnode.runtime.generate.GenerationResult;
import org.rlhfnode.runtime.generate.SamplingParams;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.BatchTensors;

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
    for (GenerationResult r : results) {
      responses.add(r.newTokens());
    }
    Layout rows = Layout.of(samplePrompts, results, padId());
    double[] scores = reward.score(samplePrompts, responses);
    if (scores.length != rows.batch) {
      throw new IllegalStateException("the reward returned " + scores.length + " scores for " + rows.batch + " samples");
    }
    float[] oldLogProbs = logProbs(actor, rows);
    boolean needRef = reference != null && (options.klAsLoss() || klController.value() > 0);
    float[] refLogProbs = needRef ? logProbs(reference, rows) : null;
    float[] values = critic == null ? null : values(critic, rows);
    return shape(rows, scores, oldLogProbs, refLogProbs, values, policyVersion);
  }

  /** KL_obs of §9 for the controller: mean over samples of the per-sequence mean of k(lp_old − lp_ref). */
  public double observedKl(Experience e) {
    if (e.refLogProbs() == null) {
      return 0.0;
    }
    try (PointerScope scope = new PointerScope()) {
      long[] shape = {e.batchSize(), e.actionFrame()};
      Tensor kl = options.klEstimator().between(Tensors.floats(e.oldLogProbs(), shape),
          Tensors.floats(e.refLogProbs(), shape)); // [B, T]
      return KlController.observedKl(kl, Tensors.floats(e.actionMask(), shape));
    }
  }

  private Experience shape(Layout rows, double[] scores, float[] oldLp, float[] refLp, float[] values,
      long policyVersion) {
    long[] shape = {rows.batch, rows.length - 1};
    try (PointerScope scope = new PointerScope()) {
      Tensor mask = Tensors.floats(rows.actionMask, shape); // [B, T] a
      float[] scoreArray = new float[rows.batch];
      float[] lengths = new float[rows.batch];
      float[] truncated = new float[rows.batch];
      for (int i = 0; i < rows.batch; i++) {
        scoreArray[i] = (float) scores[i];
        lengths[i] = rows.responseLength[i];
        truncated[i] = rows.truncated[i] ? 1f : 0f;
      }
      Tensor s = RewardShaping.sequenceRewards(options.shaping(), options.estimator(), options.samplesPerPrompt(),
          Tensors.floats(scoreArray, rows.batch), Tensors.floats(lengths, rows.batch),
          Tensors.floats(truncated, rows.batch)); // [B]
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
      return new Experience(rows.batch, rows.length, options.samplesPerPrompt(), rows.ids, rows.attention,
          rows.actionMask, rows.rolloutLogProbs, oldLp, refLp, values, Tensors.toFloats(r), Tensors.toFloats(adv),
          Tensors.toFloats(ar.returns()), scores, rows.truncated, policyVersion);
    }
  }

  /** lp[t] of x_{t+1} under {@code model} at the rollout temperature, 0 outside the action mask. */
  private float[] logProbs(CausalLm model, Layout rows) {
    return scoringPass(model, rows, true);
  }

  /** V(t) of the critic's score head at position t, 0 outside the action mask. */
  private float[] values(CausalLm model, Layout rows) {
    return scoringPass(model, rows, false);
  }

  private float[] scoringPass(CausalLm model, Layout rows, boolean logProbs) {
    int t = rows.length - 1;
    float[] out = new float[rows.batch * t];
    int micro = options.microRolloutBatchSize();
    try (InferenceMode guard = new InferenceMode()) {
      for (int start = 0; start < rows.batch; start += micro) {
        int end = Math.min(rows.batch, start + micro);
        try (PointerScope scope = new PointerScope()) {
          Batch b = rows.slice(start, end);
          Tensor ids = BatchTensors.ids(b, model.device()); // [b, L]
          Tensor hidden = model.hidden(ids, BatchTensors.attention(b, model.device()), null); // [b, L, d]
          Tensor perToken = logProbs
              ? TokenLogProbs.of(model.logits(hidden), ids, options.temperature()) // [b, T]
              : model.scores(hidden).narrow(1, 0, t); // [b, T]
          float[] chunk = Tensors.toFloats(perToken);
          for (int i = 0; i < chunk.length; i++) {
            out[start * t + i] = rows.actionMask[start * t + i] != 0 ? chunk[i] : 0f;
          }
        }
      }
    }
    return out;
  }

  private long padId() {
    Long pad = actor.config().padTokenId();
    return pad == null ? 0L : pad;
  }

  /** Prompt + response rows, right-padded, with the shifted action mask and the sampler's log-probs. */
  static final class Layout {
    final int batch;
    final int length;
    final long[] ids;
    final long[] attention;
    final float[] actionMask;
    final float[] rolloutLogProbs;
    final int[] responseLength;
    final boolean[] truncated;

    private Layout(int batch, int length) {
      this.batch = batch;
      this.length = length;
      this.ids = new long[batch * length];
      this.attention = new long[batch * length];
      this.actionMask = new float[batch * (length - 1)];
      this.rolloutLogProbs = new float[batch * (length - 1)];
      this.responseLength = new int[batch];
      this.truncated = new boolean[batch];
    }

    static Layout of(List<long[]> prompts, List<GenerationResult> results, long padId) {
      int length = 2;
      for (int i = 0; i < prompts.size(); i++) {
        length = Math.max(length, prompts.get(i).length + results.get(i).newTokens().length);
      }
      Layout l = new Layout(prompts.size(), length);
      int t = length - 1;
      for (int i = 0; i < l.batch; i++) {
        long[] p = prompts.get(i);
        GenerationResult r = results.get(i);
        long[] resp = r.newTokens();
        float[] lp = r.logProbs();
        Arrays.fill(l.ids, i * length, (i + 1) * length, padId);
        System.arraycopy(p, 0, l.ids, i * length, p.length);
        System.arraycopy(resp, 0, l.ids, i * length + p.length, resp.length);
        Arrays.fill(l.attention, i * length, i * length + p.length + resp.length, 1L);
        for (int k = 0; k < resp.length; k++) {
          // response token k sits at p + k, predicted from position p + k − 1 of the shifted frame
          l.actionMask[i * t + p.length - 1 + k] = 1f;
          l.rolloutLogProbs[i * t + p.length - 1 + k] = lp[k];
        }
        l.responseLength[i] = resp.length;
        l.truncated[i] = r.finishReason() == FinishReason.LENGTH;
      }
      return l;
    }

    Batch slice(int start, int end) {
      int rows = end - start;
      return new Batch(rows, length, Arrays.copyOfRange(ids, start * length, end * length),
          Arrays.copyOfRange(attention, start * length, end * length), new long[rows * (length - 1)]);
    }
  }
}
