package org.rlhfnode.runtime.parallel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.rlhfnode.runtime.model.CausalLm;
import org.rlhfnode.runtime.model.DecoderLayer;
import org.rlhfnode.runtime.model.KvCache;
import org.rlhfnode.runtime.model.LayerRunner;
import org.rlhfnode.runtime.model.ParameterLayout;
import org.rlhfnode.runtime.model.TokenLayout;

/**
 * Runs a model's decoder layers without keeping their activations (gradient checkpointing,
 * {@code --gradient_checkpointing}), and at ZeRO-3 with each layer's weights present only while it
 * runs. In a forward pass with autograd on, layer i runs under no-grad on its input x_i; only x_i and
 * a fresh leaf y_i (its output, requiring grad) are kept. After {@code loss.backward()} has filled
 * ∂L/∂y_last, {@link #backward()} walks the layers in reverse: it runs layer i again with autograd
 * on from x_i (x_i is y_{i−1}, or the embedding's output for layer 0, so the gradient flows on into
 * the previous leaf or the embedding) and back-propagates ∂L/∂y_i through it. The recomputed forward
 * is the same arithmetic on the same inputs, so gradients equal the plain run's; LoRA dropout draws
 * the same masks because its generator is rewound to the state it had in the first pass.
 *
 * <p>At ZeRO-3 ({@link ShardedWeights} given), layer i's trainable tensors are gathered just before
 * each of its two runs and emptied after, and after the second its gradients are reduce-scattered
 * onto the masters; the embedding, final norm and heads are gathered when a forward begins and
 * emptied after the backward (or by {@link #releaseAll()} after an evaluation). Peak weight memory
 * per rank: the shards, those outer tensors and one layer.
 */
public final class LayerTape implements LayerRunner {
  /** What one layer's second run needs; every tensor retained until the backward is done. */
  private record Entry(DecoderLayer layer, int index, Tensor input, Tensor output, Tensor cos, Tensor sin,
      TokenLayout layout, Tensor rngState) {
    void release() {
      for (Tensor t : new Tensor[] {input, output, cos, sin, rngState}) {
        if (t != null) {
          t.releaseReference();
        }
      }
      layout.release();
    }
  }

  private final ShardedWeights sharded; // null unless ZeRO-3
  private final List<List<String>> layerNames; // trainable names of each layer (ZeRO-3)
  private final List<String> outerNames; // the other trainable names (ZeRO-3)
  private final Generator rng; // rewound for the second run, or null
  private final List<Entry> tape = new ArrayList<>();
  private boolean outerPresent = true;
  private boolean allPresent;

  private LayerTape(CausalLm model, ShardedWeights sharded, Generator rng) {
    this.sharded = sharded;
    this.rng = rng;
    this.layerNames = new ArrayList<>();
    this.outerNames = new ArrayList<>();
    if (sharded != null) {
      Collection<String> names = sharded.names();
      List<String> assigned = new ArrayList<>();
      for (int i = 0; i < model.config().numLayers(); i++) {
        String prefix = ParameterLayout.layerPrefix(i);
        List<String> mine = names.stream().filter(n -> n.startsWith(prefix)).toList();
        layerNames.add(mine);
        assigned.addAll(mine);
      }
      names.stream().filter(n -> !assigned.contains(n)).forEach(outerNames::add);
      outerPresent = false;
    }
  }

  /**
   * Installs a tape on {@code model}.
   *
   * @param sharded the ZeRO-3 shards of the model's trainable tensors, or null (checkpointing only)
   * @param rng a generator the layers draw from (LoRA dropout), or null
   */
  public static LayerTape install(CausalLm model, ShardedWeights sharded, Generator rng) {
    LayerTape tape = new LayerTape(model, sharded, rng);
    model.setLayerRunner(tape);
    return tape;
  }

  @Override
  public void beforeForward() {
    if (!outerPresent) {
      sharded.materialize(outerNames);
      outerPresent = true;
    }
  }

  @Override
  public Tensor layer(int index, DecoderLayer layer, Tensor h, Tensor cos, Tensor sin, TokenLayout layout,
      KvCache.Layer cache) {
    if (sharded != null) {
      sharded.materialize(layerNames.get(index));
    }
    try {
      if (!GradMode.is_enabled() || cache != null) {
        return layer.forward(h, cos, sin, layout, cache);
      }
      Tensor rngState = rng == null ? null : rng.get_state().retainReference();
      Tensor out;
      try (NoGradGuard guard = new NoGradGuard()) {
        out = layer.forward(h.detach(), cos, sin, layout, null);
      }
      Tensor leaf = out.requires_grad_(true); // [B, T, d] ([1, N, d] packed), a leaf: out was made without autograd
      tape.add(new Entry(layer, index, h.retainReference(), leaf.retainReference(), cos.retainReference(),
          sin.retainReference(), layout.retain(), rngState));
      return leaf;
    } finally {
      if (sharded != null) {
        sharded.release(layerNames.get(index));
      }
    }
  }

  /**
   * Back-propagates through the layers recorded since the last call (after {@code loss.backward()}),
   * in reverse order; at ZeRO-3 also reduce-scatters the outer tensors' gradients and empties them.
   */
  public void backward() {
    Tensor resume = rng == null || tape.isEmpty() ? null : rng.get_state();
    try {
      for (int k = tape.size() - 1; k >= 0; k--) {
        Entry e = tape.get(k);
        try (PointerScope scope = new PointerScope()) {
          Tensor grad = e.output.grad();
          if (!grad.defined()) {
            continue; // this output did not reach the loss
          }
          if (sharded != null) {
            sharded.materialize(layerNames.get(e.index));
          }
          if (e.rngState != null) {
            rng.set_state(e.rngState);
          }
          Tensor again = e.layer.forward(e.input, e.cos, e.sin, e.layout, null);
          again.backward(grad, new BoolOptional(), false, new TensorArrayRefOptional());
          if (sharded != null) {
            sharded.reduceScatterGradients(layerNames.get(e.index));
            sharded.release(layerNames.get(e.index));
          }
        }
      }
    } finally {
      tape.forEach(Entry::release);
      tape.clear();
      if (resume != null) {
        rng.set_state(resume);
      }
    }
    if (sharded != null) {
      sharded.reduceScatterGradients(outerNames);
      releaseAll();
    }
  }

  /** ZeRO-3: empties what is gathered (after an evaluation or an export); a no-op otherwise. */
  public void releaseAll() {
    if (sharded != null && allPresent) {
      sharded.release(sharded.names());
    } else if (sharded != null && outerPresent) {
      sharded.release(outerNames);
    }
    outerPresent = sharded == null;
    allPresent = false;
  }

  /** ZeRO-3: fills every trainable tensor of the model (before an export); a no-op otherwise. */
  public void materializeAll() {
    if (sharded != null) {
      sharded.materialize(sharded.names());
      outerPresent = true;
      allPresent = true;
    }
  }

  /** Entries waiting for {@link #backward()}, for tests: 0 after every backward. */
  int pending() {
    return tape.size();
  }
}
