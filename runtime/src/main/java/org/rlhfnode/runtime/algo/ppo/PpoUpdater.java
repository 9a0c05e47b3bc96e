package org.rlhfnode.runtime.algo.ppo;

import java.util.Map;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.rlhfnode.runtime.algo.LossReduction;
import org.rlhfnode.runtime.algo.TokenLogProbs;
import org.rlhfnode.runtime.data.Batch;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.tensor.Tensors;
import org.rlhfnode.runtime.train.BatchTensors;
import org.rlhfnode.runtime.dist.Collectives;
import org.rlhfnode.runtime.train.AdamW;
import org.rlhfnode.runtime.train.LocalUpdate;
import org.rlhfnode.runtime.train.ParameterUpdate;

/**
 * The policy and critic updates of one iteration (algorithms.md §8, §10): {@code max_epochs} shuffled
 * passes over the frozen {@link Experience}, one optimizer step per mini-batch of
 * {@code train_batch_size} samples, accumulated over micro-batches of {@code micro_train_batch_size}
 * with the step's token count as denominator (§2). The actor minimises L_clip (+ β·L_KL in KL-as-loss
 * mode) − c_H·L_H; the critic, with its own optimizer, minimises the clipped value loss. Both read the
 * same experience, so their order does not matter (§8.4).
 */
public final class PpoUpdater {
  /**
   * Update settings (OpenRLHF names in brackets).
   *
   * @param trainBatchSize samples per optimizer step [train_batch_size]
   * @param microTrainBatchSize samples per forward/backward [micro_train_batch_size]
   * @param maxEpochs passes over the experience [max_epochs]
   * @param actorLr [actor_learning_rate]
   * @param criticLr [critic_learning_rate]
   * @param policy clip ranges, dual clip, GSPO, mismatch correction [eps_clip, ...]
   * @param value value clip [value_clip]
   * @param entropyCoef c_H; NaN = entropy not computed, 0 = logged only [entropy_loss_coef]
   * @param klLossCoef β of KL-as-loss (§8.4); 0 = off [init_kl_coef with use_kl_loss]
   * @param klLossEstimator estimator of the KL loss [kl_estimator]
   * @param maxGradNorm global-norm clip per model; ≤ 0 = off [max_norm]
   * @param temperature τ of the rollout; lp_θ is computed at it [temperature]
   * @param seed seeds the shuffles
   */
  public record Options(int trainBatchSize, int microTrainBatchSize, int maxEpochs, double actorLr, double criticLr,
      PolicyLoss.Options policy, ValueLoss.Options value, double entropyCoef, double klLossCoef,
      KlEstimator klLossEstimator, double maxGradNorm, double temperature, long seed) {
    public Options {
      if (trainBatchSize < 1 || microTrainBatchSize < 1 || trainBatchSize % microTrainBatchSize != 0) {
        throw new IllegalArgumentException("trainBatchSize must be a positive multiple of microTrainBatchSize, got "
            + trainBatchSize + " and " + microTrainBatchSize);
      }
      if (maxEpochs < 1) {
        throw new IllegalArgumentException("maxEpochs must be ≥ 1, got " + maxEpochs);
      }
      if (!(actorLr >= 0) || !(criticLr >= 0) || !(klLossCoef >= 0) || !(temperature > 0)) {
        throw new IllegalArgumentException("actorLr, criticLr, klLossCoef must be ≥ 0 and temperature > 0");
      }
    }

    /** OpenRLHF's defaults (§12) with the given batch sizes and learning rates. */
    public static Options defaults(int trainBatchSize, int microTrainBatchSize, double actorLr, double criticLr) {
      return new Options(trainBatchSize, microTrainBatchSize, 1, actorLr, criticLr, PolicyLoss.Options.DEFAULTS,
          ValueLoss.Options.DEFAULTS, Double.NaN, 0.0, KlEstimator.K3, 1.0, 1.0, 0L);
    }

    /** The same settings with {@code max_epochs}. */
    public Options withEpochs(int epochs) {
      return new Options(trainBatchSize, microTrainBatchSize, epochs, actorLr, criticLr, policy, value, entropyCoef,
          klLossCoef, klLossEstimator, maxGradNorm, temperature, seed);
    }

    /** The same settings with an entropy coefficient. */
    public Options withEntropy(double coef) {
      return new Options(trainBatchSize, microTrainBatchSize, maxEpochs, actorLr, criticLr, policy, value, coef,
          klLossCoef, klLossEstimator, maxGradNorm, temperature, seed);
    }

    /** The same settings in KL-as-loss mode with coefficient β and an estimator (k3 or k2 usually). */
    public Options withKlLoss(double coef, KlEstimator estimator) {
      return new Options(trainBatchSize, microTrainBatchSize, maxEpochs, actorLr, criticLr, policy, value, entropyCoef,
          coef, estimator, maxGradNorm, temperature, seed);
    }
  }

  /**
   * A model being trained: how its gradients become an update (one rank, or ZeRO over N) and what
   * runs after each micro-batch's backward (the layer-wise backward of gradient checkpointing).
   */
  public record Trainee(CausalLm model, ParameterUpdate update, Runnable afterBackward) {
    /** One rank, plain backward: {@code adam} over {@code parameters}, clipped to {@code maxNorm} (≤ 0: off). */
    public static Trainee local(CausalLm model, Map<String, Tensor> parameters, AdamW adam, double maxNorm) {
      return new Trainee(model, new LocalUpdate(parameters, adam, maxNorm), () -> { });
    }
  }

  /**
   * Means over the iteration's optimizer steps (NaN where a part did not run).
   *
   * @param policyLoss L_clip
   * @param valueLoss critic loss
   * @param clipFraction share of clipped action tokens (§8.1)
   * @param policyKl mean of lp_old − lp_θ over action tokens
   * @param entropy mean H_t over action tokens
   * @param klLoss L_KL in KL-as-loss mode
   * @param actorGradNorm global gradient norm before clipping
   * @param criticGradNorm global gradient norm before clipping
   * @param optimizerSteps steps taken (per model)
   */
  public record Metrics(double policyLoss, double valueLoss, double clipFraction, double policyKl, double entropy,
      double klLoss, double actorGradNorm, double criticGradNorm, int optimizerSteps) {}

  private final Options options;
  private final Trainee actor;
  private final Trainee critic;
  private final Collectives collectives;
  private long updates;

  /**
   * @param actor the policy, or null for an updater that trains only the critic (a separate critic role)
   * @param critic the value model with a score head, or null for critic-free estimators
   */
  public PpoUpdater(Options options, Trainee actor, Trainee critic) {
    this(options, actor, critic, Collectives.single());
  }

  /**
   * Data parallel over {@code collectives}: every rank draws the same mini-batches, rank r runs the
   * r-th of N equal runs of each mini-batch's micro-batches, and the step's normaliser and the
   * updates are those of one rank (see {@link org.rlhfnode.runtime.train.Trainer}); the mini-batch's
   * micro-batch count must divide by N.
   */
  public PpoUpdater(Options options, Trainee actor, Trainee critic, Collectives collectives) {
    if (actor == null && critic == null) {
      throw new IllegalArgumentException("a PPO updater needs an actor, a critic or both");
    }
    if (critic != null && !critic.model().hasScoreHead()) {
      throw new IllegalArgumentException("the critic needs a score head");
    }
    this.options = options;
    this.actor = actor;
    this.critic = critic;
    this.collectives = collectives;
  }

  /** How many rollouts this updater has trained on; seeds the next one's mini-batch shuffles. */
  public long updates() {
    return updates;
  }

  /** Puts the update count back (a resumed run), so the next shuffles are those of the run that stopped. */
  public void restoreUpdates(long count) {
    if (count < 0) {
      throw new IllegalArgumentException("update count must be ≥ 0, got " + count);
    }
    this.updates = count;
  }

  /** {@link #update(Experience, boolean)} training the actor. */
  public Metrics update(Experience experience) {
    return update(experience, true);
  }

  /**
   * Trains on one rollout.
   *
   * @param trainActor false during {@code freezing_actor_steps}: only the critic learns
   */
  public Metrics update(Experience experience, boolean trainActor) {
    trainActor = trainActor && actor != null;
    if (critic != null && experience.values() == null) {
      throw new IllegalArgumentException("the experience has no critic values to train the critic against");
    }
    if (options.klLossCoef() > 0 && experience.refLogProbs() == null) {
      throw new IllegalArgumentException("KL-as-loss needs reference log-probs in the experience");
    }
    SplittableRandom rnd = new SplittableRandom(options.seed() * 1_000_003L + updates++);
    Sums sums = new Sums();
    for (int epoch = 0; epoch < options.maxEpochs(); epoch++) {
      int[] order = permutation(experience.batchSize(), rnd);
      for (int start = 0; start < order.length; start += options.trainBatchSize()) {
        int end = Math.min(order.length, start + options.trainBatchSize());
        Experience mini = experience.select(java.util.Arrays.copyOfRange(order, start, end));
        if (trainActor) {
          actorStep(mini, sums);
        }
        if (critic != null) {
          criticStep(mini, sums);
        }
        sums.steps++;
      }
    }
    return sums.metrics(trainActor, critic != null, !Double.isNaN(options.entropyCoef()), options.klLossCoef() > 0);
  }

  private void actorStep(Experience mini, Sums sums) {
    double tokens = Math.max(1.0, mini.actionTokens());
    double denominator = options.policy().gspo() ? Math.max(1.0, nonEmpty(mini)) : tokens;
    Sums mine = new Sums();
    for (Experience micro : myMicros(mini)) {
      try (PointerScope scope = new PointerScope()) {
        Micro m = Micro.of(micro, actor.model());
        Tensor logits = actor.model().logits(actor.model().hidden(m.ids, m.attention, null)); // [b, L, V]
        Tensor lp = TokenLogProbs.of(logits, m.ids, options.temperature()); // [b, T] lp_θ
        Tensor rollout = options.policy().mismatch() == MismatchCorrection.NONE ? null
            : m.floats(micro.rolloutLogProbs());
        PolicyLoss.Result pl = PolicyLoss.compute(options.policy(),
            new PolicyLoss.Batch(lp, m.floats(micro.oldLogProbs()), m.floats(micro.advantages()), m.mask, rollout),
            denominator);
        Tensor loss = pl.loss(); // []
        double share = LossReduction.tokens(m.mask) / tokens;
        mine.policyLoss += pl.value();
        mine.clipFraction += pl.clipFraction() * share;
        mine.policyKl += pl.policyKl() * share;
        if (options.klLossCoef() > 0) {
          Tensor k = options.klLossEstimator().between(lp, m.floats(micro.refLogProbs())); // [b, T]
          Tensor klLoss = LossReduction.token(Shapes.masked(k, m.mask), m.mask, tokens);
          mine.klLoss += klLoss.item_double();
          loss = loss.add(klLoss.mul(new Scalar(options.klLossCoef())));
        }
        if (!Double.isNaN(options.entropyCoef())) {
          Tensor scaled = logits.narrow(1, 0, micro.actionFrame()).div(new Scalar(options.temperature())); // [b, T, V]
          Tensor h = Entropy.mean(scaled, m.mask, tokens); // []
          mine.entropy += h.item_double();
          if (options.entropyCoef() != 0) {
            loss = loss.sub(h.mul(new Scalar(options.entropyCoef())));
          }
        }
        loss.backward();
        actor.afterBackward().run();
      }
    }
    sums.add(mine.over(collectives));
    sums.actorGradNorm += step(actor, options.actorLr());
  }

  private void criticStep(Experience mini, Sums sums) {
    double tokens = Math.max(1.0, mini.actionTokens());
    double valueLoss = 0;
    for (Experience micro : myMicros(mini)) {
      try (PointerScope scope = new PointerScope()) {
        Micro m = Micro.of(micro, critic.model());
        Tensor values = critic.model().scores(critic.model().hidden(m.ids, m.attention, null))
            .narrow(1, 0, micro.actionFrame()); // [b, T] V_φ
        ValueLoss.Result vl = ValueLoss.compute(options.value(),
            new ValueLoss.Batch(values, m.floats(micro.values()), m.floats(micro.returns()), m.mask), tokens);
        valueLoss += vl.value();
        vl.loss().backward();
        critic.afterBackward().run();
      }
    }
    sums.valueLoss += collectives.sum(valueLoss);
    sums.criticGradNorm += step(critic, options.criticLr());
  }

  /** Combine over the ranks, clip, step, zero; a non-finite gradient norm skips the step. */
  private double step(Trainee t, double lr) {
    return t.update().apply(updates, lr).gradNorm();
  }

  /** This rank's run of the mini-batch's micro-batches. */
  private java.util.List<Experience> myMicros(Experience mini) {
    java.util.List<Experience> all = micros(mini);
    int n = collectives.worldSize();
    if (all.size() % n != 0) {
      throw new IllegalArgumentException("a mini-batch of " + mini.batchSize() + " samples makes " + all.size()
          + " micro-batches, which do not divide over " + n + " ranks: make train_batch_size and the rollout's "
          + "samples multiples of micro_train_batch_size × ranks");
    }
    int share = all.size() / n;
    return all.subList(collectives.rank() * share, (collectives.rank() + 1) * share);
  }

  private java.util.List<Experience> micros(Experience mini) {
    java.util.List<Experience> out = new java.util.ArrayList<>();
    for (int start = 0; start < mini.batchSize(); start += options.microTrainBatchSize()) {
      int end = Math.min(mini.batchSize(), start + options.microTrainBatchSize());
      int[] rows = new int[end - start];
      for (int i = 0; i < rows.length; i++) {
        rows[i] = start + i;
      }
      out.add(mini.select(rows));
    }
    return out;
  }

  private static long nonEmpty(Experience e) {
    long n = 0;
    for (int len : e.responseLengths()) {
      n += len > 0 ? 1 : 0;
    }
    return n;
  }

  private static int[] permutation(int n, SplittableRandom rnd) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }

  /** Training tensors of one micro-batch, built from Java arrays so they can enter autograd. */
  private static final class Micro {
    final Tensor ids; // [b, L] int64
    final Tensor attention; // [b, L] int64
    final Tensor mask; // [b, T] float32 a
    final long[] shape;
    final CausalLm model;

    private Micro(Experience e, CausalLm model) {
      Batch b = e.tokens();
      this.model = model;
      this.ids = BatchTensors.ids(b, model.device());
      this.attention = BatchTensors.attention(b, model.device());
      this.mask = BatchTensors.lossMask(b, model.device());
      this.shape = new long[] {e.batchSize(), e.actionFrame()};
    }

    static Micro of(Experience e, CausalLm model) {
      return new Micro(e, model);
    }

    /** [b, T] float32 on the model's device. */
    Tensor floats(float[] data) {
      return Tensors.floats(data, shape).to(model.device().torchDevice(),
          org.bytedeco.pytorch.global.torch.ScalarType.Float);
    }
  }

  private static final class Sums {
    double policyLoss;
    double valueLoss;
    double clipFraction;
    double policyKl;
    double entropy;
    double klLoss;
    double actorGradNorm;
    double criticGradNorm;
    int steps;

    /** The policy parts summed over the ranks. */
    Sums over(Collectives c) {
      if (c.worldSize() > 1) {
        double[] total = c.sum(new double[] {policyLoss, clipFraction, policyKl, klLoss, entropy});
        policyLoss = total[0];
        clipFraction = total[1];
        policyKl = total[2];
        klLoss = total[3];
        entropy = total[4];
      }
      return this;
    }

    void add(Sums o) {
      policyLoss += o.policyLoss;
      clipFraction += o.clipFraction;
      policyKl += o.policyKl;
      klLoss += o.klLoss;
      entropy += o.entropy;
    }

    Metrics metrics(boolean actor, boolean critic, boolean withEntropy, boolean withKlLoss) {
      double n = Math.max(1, steps);
      double nan = Double.NaN;
      return new Metrics(actor ? policyLoss / n : nan, critic ? valueLoss / n : nan, actor ? clipFraction / n : nan,
          actor ? policyKl / n : nan, actor && withEntropy ? entropy / n : nan,
          actor && withKlLoss ? klLoss / n : nan,
          actor ? actorGradNorm / n : nan, critic ? criticGradNorm / n : nan, steps);
    }
  }
}
