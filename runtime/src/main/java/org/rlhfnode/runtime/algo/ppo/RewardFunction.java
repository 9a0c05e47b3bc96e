package org.rlhfnode.runtime.algo.ppo;

import java.util.Map;

/**
 * A rule-based reward (algorithms.md §7.1): a score for one decoded prompt and response, such as
 * "1 when the answer is correct". Implementations are named in {@code --reward_functions} by class
 * (a public no-argument constructor) or by a built-in short name ({@link #BUILT_IN}), and must be pure:
 * the same text gives the same score. A verifiable reward reads the prompt's label (the record's
 * {@code label_key} value, "" when it has none) by overriding {@link #score(String, String, String)}.
 */
@FunctionalInterface
public interface RewardFunction {
  /** Built-in functions by short name. */
  Map<String, Class<? extends RewardFunction>> BUILT_IN = Map.of("exact_match", ExactMatchReward.class);

  /**
   * @param prompt the prompt as the policy saw it (chat template applied), special tokens kept
   * @param response the generated text, special tokens removed
   */
  double score(String prompt, String response);

  /**
   * The score with the prompt's label; by default the label is not read.
   *
   * @param label the prompt record's {@code label_key} value (a reference answer), "" when it has none
   */
  default double score(String prompt, String response, String label) {
    return score(prompt, response);
  }

  /**
   * An instance of the built-in function or the class called {@code name}; the error names the flag,
   * the class and what is wrong.
   */
  static RewardFunction load(String name) {
    Class<?> c = BUILT_IN.get(name);
    if (c == null) {
      try {
        c = Class.forName(name);
      } catch (ClassNotFoundException e) {
        throw new IllegalArgumentException("--reward_functions: class " + name + " not found on the class path "
            + "(built-in names: " + String.join(", ", new java.util.TreeSet<>(BUILT_IN.keySet())) + ")");
      }
    }
    if (!RewardFunction.class.isAssignableFrom(c)) {
      throw new IllegalArgumentException("--reward_functions: " + name + " does not implement "
          + RewardFunction.class.getName());
    }
    try {
      return (RewardFunction) c.getConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("--reward_functions: " + name
          + " needs a public no-argument constructor (" + e + ")");
    }
  }
}
