package org.rlhfnode.runtime.lora;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.rlhfnode.runtime.model.CausalLm;

/**
 * Which projections of a {@link CausalLm} a {@link LoraConfig} adapts, by PEFT's rules: a list
 * entry matches a module whose name equals it or ends with {@code "." + entry}; every entry must
 * match something (a typo is an error listing the model's projections); {@value LoraConfig#ALL_LINEAR}
 * is every projection except {@code lm_head} and {@code score}. For Mixtral that includes the
 * router ({@code block_sparse_moe.gate}) and the experts' {@code w1}, {@code w2}, {@code w3}, as
 * PEFT's all-linear does.
 */
public final class LoraTargets {
  private static final Set<String> HEADS = Set.of(CausalLm.LM_HEAD_MODULE, CausalLm.SCORE_MODULE);

  private LoraTargets() {}

  /**
   * The module names {@code config} selects, in the model's order.
   *
   * @throws IllegalArgumentException if an entry matches no projection, or selects a tied lm_head
   */
  public static List<String> resolve(CausalLm model, LoraConfig config) {
    Set<String> modules = model.linears().keySet();
    List<String> chosen = new ArrayList<>();
    if (config.allLinear()) {
      modules.stream().filter(m -> !HEADS.contains(m)).forEach(chosen::add);
      return chosen;
    }
    for (String target : config.targetModules()) {
      if (modules.stream().noneMatch(m -> matches(m, target))) {
        throw new IllegalArgumentException("target_modules: '" + target + "' matches no projection of this "
            + model.config().family().modelType() + " model; its projections are " + String.join(", ", leafNames(modules))
            + " (or full names such as " + modules.iterator().next() + ")");
      }
    }
    for (String m : modules) {
      if (config.targetModules().stream().anyMatch(t -> matches(m, t))) {
        chosen.add(m);
      }
    }
    if (chosen.contains(CausalLm.LM_HEAD_MODULE) && model.config().tieWordEmbeddings()) {
      throw new IllegalArgumentException("target_modules: lm_head shares its weight with model.embed_tokens "
          + "(tie_word_embeddings), so a LoRA on it would also change the embedding when merged; leave it out");
    }
    return chosen;
  }

  /** PEFT's list rule: the name itself, or a dotted suffix of it. */
  public static boolean matches(String module, String target) {
    return module.equals(target) || module.endsWith("." + target);
  }

  /** The last name component of each module ({@code q_proj}, {@code w1}, ...), without repeats, in order. */
  public static List<String> leafNames(Collection<String> modules) {
    Set<String> leaves = new LinkedHashSet<>();
    for (String m : modules) {
      leaves.add(m.substring(m.lastIndexOf('.') + 1));
    }
    return List.copyOf(leaves);
  }

  /**
   * The names to write as {@code target_modules} in {@code adapter_config.json}: for
   * all-linear the sorted leaf names of the adapted modules (which select exactly those modules
   * under the list rule, as PEFT's own expansion does), otherwise the configured entries.
   */
  public static List<String> savedNames(LoraConfig config, Collection<String> adaptedModules) {
    return config.allLinear() ? List.copyOf(new TreeSet<>(leafNames(adaptedModules))) : config.targetModules();
  }

  /**
   * PEFT's rule for a {@code target_modules} string other than all-linear: a regular expression
   * that must match a module's whole name. Returns the matching module names.
   *
   * @throws IllegalArgumentException if the pattern is invalid or matches nothing
   */
  public static List<String> matchPattern(CausalLm model, String regex) {
    Pattern p;
    try {
      p = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException("target_modules: '" + regex + "' is not a valid regular expression: "
          + e.getDescription());
    }
    List<String> out = new ArrayList<>();
    for (String m : model.linears().keySet()) {
      if (p.matcher(m).matches()) {
        out.add(m);
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("target_modules: the pattern '" + regex + "' matches no projection; "
          + "the model's projections are " + String.join(", ", leafNames(model.linears().keySet())));
    }
    return out;
  }
}
